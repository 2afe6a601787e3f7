"""The Dispatcher: the one public road from a request to a paid, recorded, reusable result.

    dispatcher = Dispatcher(provider, ledger=Ledger(run_dir / "ledger.sqlite"), budget=Budget(...))
    dispatcher.resume()                     re-attach to jobs a killed process left in flight
    job = dispatcher.submit(request)        returns once the provider accepted the job
    result = job.result(timeout_s)          stored in the ledger before it is returned
    result = dispatcher.run(request, timeout_s)

`submit`: validate -> a finished result for this request hash in the ledger is reused (nothing
spent) -> a job for it already in flight is re-attached -> reserve budget -> write the ledger row ->
submit with retries (after an ambiguous failure, a timeout or lost connection, first look the job
up by id or by its `qhil_token` tag and re-attach; a paid job is never sent twice) -> write the job
id before anyone waits. `result`: fetch (a lost result is fetched again through `attach`) -> write
the result -> commit the budget -> return. A failure the provider did not bill releases the budget.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from qhil.errors import (
    JobCancelledError,
    JobFailedError,
    PermanentProviderError,
    ProviderError,
    SubmissionTimeoutError,
)
from qhil.execution.budget import Budget, Reservation
from qhil.execution.job import Job, JobMetrics, JobStatus, SamplingResult
from qhil.execution.ledger import LOST, Ledger, LedgerEntry
from qhil.execution.pricing import billed_cost_usd, calibration_for, job_cost_usd, tasks_for
from qhil.execution.provider import TOKEN_TAG, Provider
from qhil.execution.request import SamplingRequest
from qhil.execution.retry import RetryPolicy

STRIPES = 64


class Dispatcher:
    """Validates, accounts, records and retries around one provider; thread-safe."""

    def __init__(self, provider: Provider, *, ledger: Ledger | None = None,
                 budget: Budget | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: np.random.Generator | None = None, reuse_results: bool = True):
        self.provider = provider
        self.ledger = ledger
        self.budget = budget
        self.clock = clock
        self.policy = RetryPolicy.from_settings(provider.profile.retry, sleep=sleep, rng=rng)
        self.reuse_results = reuse_results
        self.calibration = calibration_for(provider.profile)
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._live: dict[str, DispatchedJob] = {}
        self._stripes = [threading.Lock() for _ in range(STRIPES)]

    @property
    def jobs_in_flight(self) -> int:
        with self._lock:
            return len(self._live)

    def run(self, request: SamplingRequest, timeout_s: float | None = None) -> SamplingResult:
        """Submit and wait: the result is in the ledger and the budget committed on return."""
        return self.submit(request).result(timeout_s)

    def submit(self, request: SamplingRequest) -> Job:
        """Send a request (or reuse / re-attach what the ledger knows of it); returns at once."""
        self.provider.validate(request)
        digest = request.digest()
        with self._stripes[int(digest[:8], 16) % STRIPES]:  # one sender per request hash
            return self._submit(request, digest)

    def _submit(self, request: SamplingRequest, digest: str) -> Job:
        known = self._known_job(digest)
        if known is not None:
            return known
        tasks = tasks_for(self.provider.profile, request)
        cost_usd = job_cost_usd(self.provider.profile, request)
        reservation = self._reserve(request.total_shots, cost_usd, tasks)
        token = uuid.uuid4().hex
        self._record_begin(token, request, digest, cost_usd)
        try:
            inner = self._send(request, token, cost_usd)
        except Exception as exc:  # an interrupt leaves the row in flight, for resume() to settle
            self._settle_failure(token, reservation, exc)
            raise
        self.counters["submitted"] += 1
        return self._track(DispatchedJob(self, inner, token, digest, reservation, request, tasks))

    def resume(self) -> list[Job]:
        """Re-attach to every job of this provider the ledger shows in flight."""
        if self.ledger is None:
            return []
        jobs = []
        for entry in self.ledger.in_flight(self.provider.name):
            with self._lock:
                if entry.request_hash in self._live:
                    continue
            job = self._reattach(entry)
            if job is not None:
                jobs.append(job)
        return jobs

    # submission ---------------------------------------------------------------------------------

    def _known_job(self, digest: str) -> Job | None:
        with self._lock:
            live = self._live.get(digest)
        if live is not None:
            return live
        if self.ledger is None:
            return None
        if self.reuse_results:
            stored = self.ledger.find_result(digest, self.provider.name)
            if stored is not None:
                self.counters["reused"] += 1
                return StoredJob(stored)
        for entry in self.ledger.in_flight(self.provider.name, digest):
            job = self._reattach(entry)
            if job is not None:
                return job
        return None

    def _reserve(self, shots: int, cost_usd, tasks: int) -> Reservation | None:
        if self.budget is None:
            return None
        return self.budget.reserve(shots, cost_usd, tasks)

    def _record_begin(self, token: str, request: SamplingRequest, digest: str, cost_usd) -> None:
        if self.ledger is not None:
            self.ledger.begin(token, provider=self.provider.name, device=self.provider.profile.device,
                              request_hash=digest, circuits=request.batch_size,
                              shots=request.total_shots, cost_usd=cost_usd,
                              submit_called_at=self.clock())

    def _send(self, request: SamplingRequest, token: str, cost_usd) -> Job:
        tagged = replace(request, tags={**request.tags, TOKEN_TAG: token})
        doubt = _Doubt()

        def attempt(number: int) -> Job:
            self._note_attempt(token, number)
            if doubt.ambiguous:
                found = self._look_up(token, doubt.job_id)
                if found is not None:
                    return self._accepted(token, found)
                self._check_resubmission_safe(doubt, cost_usd)
            return self._accepted(token, self._submit_once(tagged, doubt))

        try:
            return self.policy.call(attempt, on_retry=self._count_retry)
        except Exception:
            if not doubt.ambiguous:
                raise
            found = self._look_up(token, doubt.job_id)
            if found is None:
                self._check_resubmission_safe(doubt, cost_usd)  # may it exist unseen? say so
                raise
            return self._accepted(token, found)

    def _submit_once(self, tagged: SamplingRequest, doubt: _Doubt) -> Job:
        try:
            return self.provider.submit(tagged)
        except (SubmissionTimeoutError, ConnectionError, TimeoutError) as exc:
            doubt.ambiguous = True
            doubt.job_id = getattr(exc, "job_id", None) or doubt.job_id
            raise

    def _look_up(self, token: str, job_id: str | None) -> Job | None:
        """After an ambiguous failure: does the job exist? Re-attach rather than resubmit."""
        self.counters["lookups"] += 1
        if job_id is not None:
            try:
                return self.provider.attach(job_id)
            except ProviderError:
                pass
        if self.provider.supports_lookup:
            found = self.provider.find_job(token)
            if found is not None:
                self.counters["reattached"] += 1
            return found
        return None

    def _check_resubmission_safe(self, doubt: _Doubt, cost_usd) -> None:
        """A paid job that may exist where nobody can look: stop, and count it as billed."""
        if self.provider.supports_lookup or doubt.job_id is not None or not cost_usd:
            return
        raise PermanentProviderError(
            f"a submission to {self.provider.name} timed out and the service cannot be searched "
            f"for the job; not resubmitting, so as not to pay twice (check the provider's console)",
            billed=True)

    def _accepted(self, token: str, job: Job) -> Job:
        if self.ledger is not None:
            self.ledger.submitted(token, job.job_id, self.clock())
        return job

    def _note_attempt(self, token: str, number: int) -> None:
        if self.ledger is not None:
            self.ledger.attempt(token, number)

    def _count_retry(self, attempt: int, exc: BaseException, wait_s: float) -> None:
        self.counters["retries"] += 1

    def _settle_failure(self, token: str, reservation: Reservation | None,
                        exc: BaseException) -> None:
        billed = bool(getattr(exc, "billed", False))
        if self.budget is not None and reservation is not None:
            (self.budget.commit if billed else self.budget.release)(reservation)
        if self.ledger is not None:
            self.ledger.failed(token, f"{type(exc).__name__}: {exc}", billed=billed)

    # results ------------------------------------------------------------------------------------

    def _track(self, job: DispatchedJob) -> DispatchedJob:
        with self._lock:
            self._live[job.digest] = job
        return job

    def _untrack(self, job: DispatchedJob) -> None:
        with self._lock:
            if self._live.get(job.digest) is job:
                del self._live[job.digest]

    def _collect(self, job: DispatchedJob, timeout_s: float | None) -> SamplingResult:
        try:
            result = self.policy.call(lambda n: job._fetch(n, timeout_s),
                                      on_retry=self._count_retry)
        except (JobFailedError, JobCancelledError) as exc:
            self._settle_failure(job.token, job.reservation, exc)
            self._untrack(job)
            raise
        self._store(job, result)
        return result

    def _store(self, job: DispatchedJob, result: SamplingResult) -> None:
        actual = None
        if job.request is not None:
            actual = billed_cost_usd(self.calibration, job.request, job.tasks, result.usage)
        if self.ledger is not None:
            self.ledger.finished(job.token, result, fetched_at=self.clock(), cost_usd=actual)
        if self.budget is not None and job.reservation is not None:
            self.budget.commit(job.reservation, cost_usd=actual)
        self.counters["results"] += 1
        self._untrack(job)

    def _reattach(self, entry: LedgerEntry) -> DispatchedJob | None:
        inner = self._look_up(entry.token, entry.job_id)
        if inner is None:
            if self.ledger is not None:
                self.ledger.failed(entry.token, "could not re-attach after a restart",
                                   billed=entry.billed, status=LOST)
            return None
        self._accepted(entry.token, inner)
        self.counters["resumed"] += 1
        tasks = max(1, -(-entry.circuits // self.provider.profile.limits.max_circuits_per_job))
        reservation = None
        if self.budget is not None:
            reservation = self.budget.reserve(entry.shots, entry.cost_usd, tasks, force=True)
        job = DispatchedJob(self, inner, entry.token, entry.request_hash, reservation, None, tasks)
        return self._track(job)


class _Doubt:
    """What an ambiguous submission failure left us knowing."""

    def __init__(self) -> None:
        self.ambiguous = False
        self.job_id: str | None = None


class DispatchedJob(Job):
    """A job sent through the Dispatcher: its result is recorded and paid for exactly once."""

    def __init__(self, dispatcher: Dispatcher, inner: Job, token: str, digest: str,
                 reservation: Reservation | None, request: SamplingRequest | None, tasks: int):
        self.job_id = inner.job_id
        self.token = token
        self.digest = digest
        self.reservation = reservation
        self.request = request
        self.tasks = tasks
        self._dispatcher = dispatcher
        self._inner = inner
        self._result: SamplingResult | None = None
        self._lock = threading.Lock()

    def status(self) -> JobStatus:
        return JobStatus.DONE if self._result is not None else self._inner.status()

    def result(self, timeout_s: float | None = None) -> SamplingResult:
        with self._lock:
            if self._result is None:
                self._result = self._dispatcher._collect(self, timeout_s)
            return self._result

    def metrics(self) -> JobMetrics:
        if self._result is not None:
            r = self._result
            return JobMetrics(self.job_id, JobStatus.DONE, r.timings, r.usage)
        return self._inner.metrics()

    def cancel(self) -> bool:
        return self._inner.cancel()

    def _fetch(self, attempt: int, timeout_s: float | None) -> SamplingResult:
        if attempt > 1:  # the last fetch was lost in transit: ask the provider again
            self._inner = self._dispatcher.provider.attach(self.job_id)
        return self._inner.result(timeout_s)


class StoredJob(Job):
    """A result reused from the ledger: nothing was sent, nothing spent."""

    def __init__(self, result: SamplingResult):
        self.job_id = result.job_id
        self._result = result

    def status(self) -> JobStatus:
        return JobStatus.DONE

    def result(self, timeout_s: float | None = None) -> SamplingResult:
        return self._result

    def metrics(self) -> JobMetrics:
        return JobMetrics(self.job_id, JobStatus.DONE, self._result.timings, self._result.usage)
