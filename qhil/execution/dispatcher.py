"""The Dispatcher: the one public road from a request to a paid, recorded, reusable result.

    dispatcher = Dispatcher(provider, ledger=Ledger(run_dir / "ledger.sqlite"), budget=Budget(...))
    (no ledger: one in memory, for throwaway runs; no budget: unlimited - never None)
    dispatcher.resume()                     re-attach to jobs a killed process left in flight
    job = dispatcher.submit(request)        returns once the provider accepted the job
    result = job.result(timeout_s)          stored in the ledger before it is returned
    result = dispatcher.run(request, timeout_s)

`submit`: validate -> a finished result for this request hash in the ledger is reused (nothing
spent) -> a job for it already in flight is re-attached -> reserve budget -> write the ledger row ->
submit with retries (after an ambiguous failure, a timeout or lost connection, first look the job
up by id or by its `qhil_token` tag and re-attach; a paid job is never sent twice) -> write the job
id before anyone waits. With the profile's `max_jobs_in_flight` jobs open, `submit` first waits for
the oldest one (its result is stored for its own caller). `result`: fetch (a lost result is
fetched again through `attach`) -> write the result -> commit the budget -> return. A failure the
provider did not bill releases the budget.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal

import numpy as np

from qhil.errors import (
    PermanentProviderError,
    ProviderError,
    QhilError,
    SubmissionTimeoutError,
)
from qhil.execution.budget import Budget, Reservation
from qhil.execution.job import Job, JobMetrics, JobStatus, SamplingResult
from qhil.execution.ledger import LOST, Ledger, LedgerEntry
from qhil.execution.pricing import (
    Quote,
    billed_cost_usd,
    bills,
    calibration_for,
    quote,
)
from qhil.execution.provider import TOKEN_TAG, Provider
from qhil.execution.retry import RetryPolicy, is_transient
from qhil.quantum.request import SamplingRequest

STRIPES = 64


class Dispatcher:
    """Validates, accounts, records and retries around one provider; thread-safe."""

    def __init__(self, provider: Provider, *, ledger: Ledger | None = None,
                 budget: Budget | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: np.random.Generator | None = None, reuse_results: bool = True,
                 quotes: Iterable[Quote] = ()):
        self.provider = provider
        self.ledger = ledger if ledger is not None else Ledger(":memory:")  # throwaway runs
        self.budget = budget if budget is not None else Budget()  # unlimited
        self.clock = clock
        self.policy = RetryPolicy.from_settings(provider.profile.retry, sleep=sleep, rng=rng)
        self.reuse_results = reuse_results
        self._quotes = {q.digest: q for q in quotes}  # validated and priced before consent
        self.calibration = calibration_for(provider.profile)
        if ledger is not None and bills(self.calibration):
            self.ledger.make_durable()  # paid jobs: fsync each write (a job takes seconds anyway)
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._live: dict[str, DispatchedJob] = {}
        self._stripes = [threading.Lock() for _ in range(STRIPES)]

    def _count(self, what: str) -> None:
        with self._lock:
            self.counters[what] += 1

    @property
    def jobs_in_flight(self) -> int:
        with self._lock:
            return len(self._live)

    def run(self, request: SamplingRequest, timeout_s: float | None = None,
            store_result: bool = True) -> SamplingResult:
        """Submit and wait: the result is in the ledger and the budget committed on return."""
        return self.submit(request, store_result).result(timeout_s)

    def submit(self, request: SamplingRequest, store_result: bool = True) -> Job:
        """Send a request (or reuse / re-attach what the ledger knows of it); returns at once.

        `store_result=False` records the job and its spending but not its payload (for results
        used once and never reused, such as a learner's gradient circuits)."""
        digest = request.digest()
        price = self._quote(request, digest)  # validated and priced once
        with self._stripes[int(digest[:8], 16) % STRIPES]:  # one sender per request hash
            return self._submit(request, price, store_result)

    def _quote(self, request: SamplingRequest, digest: str) -> Quote:
        """The quote made before consent (`quotes=`), else one made now."""
        with self._lock:
            known = self._quotes.pop(digest, None)
        return known if known is not None else quote(self.provider, request, digest)

    def _submit(self, request: SamplingRequest, price: Quote, store_result: bool = True) -> Job:
        digest = price.digest
        known = self._known_job(digest)
        if known is not None:
            return known
        self._make_room()
        sub = _Submission(request, digest, price.tasks, price.cost_usd)
        self._open(sub, first=True)
        try:
            inner = self._send(sub)
        except Exception as exc:  # an interrupt leaves the row in flight, for resume() to settle
            self._settle_failure(sub.token, sub.reservation, exc)
            raise
        self._count("submitted")
        return self._track(DispatchedJob(self, inner, sub.token, digest, sub.reservation, request,
                                         sub.tasks, store_result))

    def _open(self, sub: _Submission, first: bool = False) -> None:
        """Reserve the budget and write the ledger row, under a fresh client token; `first`:
        the row counts the first attempt, made next, so that it needs no write of its own."""
        sub.reservation = self._reserve(sub.request.total_shots, sub.cost_usd, sub.tasks)
        sub.token = uuid.uuid4().hex
        sub.noted = 1 if first else 0
        self._record_begin(sub.token, sub.request, sub.digest, sub.cost_usd, sub.noted)

    def resume(self) -> list[Job]:
        """Re-attach to every job of this provider the ledger shows in flight."""
        jobs = []
        for entry in self.ledger.in_flight(self.provider.name):
            with self._lock:
                if entry.request_hash in self._live:
                    continue
            job = self._reattach(entry)
            if job is not None:
                jobs.append(job)
        return jobs

    def drain(self, timeout_s: float | None = None) -> int:
        """Wait for every job still open (e.g. re-attached after a restart and never asked for
        again): their results land in the ledger, as they were paid for. Returns how many."""
        with self._lock:
            open_jobs = list(self._live.values())
        for job in open_jobs:
            try:
                job.result(timeout_s)
            except QhilError:
                pass  # settled (failed or lost) by _collect; the ledger says so
        return len(open_jobs)

    # submission ---------------------------------------------------------------------------------

    def _known_job(self, digest: str) -> Job | None:
        with self._lock:
            live = self._live.get(digest)
        if live is not None:
            return live
        stored, flying = self.ledger.known(digest, self.provider.name, self.reuse_results)
        if stored is not None:
            self._count("reused")
            return StoredJob(stored)
        for entry in flying:
            job = self._reattach(entry)
            if job is not None:
                return job
        return None

    def _make_room(self) -> None:
        """At the profile's max_jobs_in_flight, wait for the oldest open job (its result is
        stored and kept for its own caller), so the service never sees more open jobs."""
        limit = self.provider.profile.max_jobs_in_flight
        waited: set[int] = set()
        while True:
            with self._lock:
                if len(self._live) < limit:
                    return
                oldest = next(iter(self._live.values()))
            if id(oldest) in waited:
                return  # it could not finish (e.g. a fetch that keeps failing): do not hang
            waited.add(id(oldest))
            self._count("waited_for_room")
            try:
                oldest.result()
            except QhilError:
                pass  # settled by _collect, or still open and skipped above

    def _reserve(self, shots: int, cost_usd, tasks: int) -> Reservation:
        return self.budget.reserve(shots, cost_usd, tasks)

    def _record_begin(self, token: str, request: SamplingRequest, digest: str, cost_usd,
                      attempts: int = 0) -> None:
        self.ledger.begin(token, provider=self.provider.name, device=self.provider.profile.device,
                          request_hash=digest, circuits=request.batch_size,
                          shots=request.total_shots, cost_usd=cost_usd,
                          submit_called_at=self.clock(), attempts=attempts)

    def _send(self, sub: _Submission) -> Job:
        def attempt(number: int) -> Job:
            if number != sub.noted:  # the row's count: attempt 1 was written with it
                self._note_attempt(sub.token, number)
            if sub.ambiguous:
                found = self._look_up(sub.token, sub.job_id)
                if found is not None:
                    return self._accepted(sub.token, found)
                self._check_resubmission_safe(sub)
            return self._accepted(sub.token, self._submit_once(sub))

        try:
            return self.policy.call(attempt, on_retry=self._count_retry)
        except Exception:
            if not sub.ambiguous:
                raise
            found = self._look_up(sub.token, sub.job_id)
            if found is None:
                self._check_resubmission_safe(sub)  # may it exist unseen? say so
                raise
            return self._accepted(sub.token, found)

    def _submit_once(self, sub: _Submission) -> Job:
        tagged = sub.request.relabelled(tags={**sub.request.tags, TOKEN_TAG: sub.token})
        try:
            return self.provider._submit(tagged)  # validated once, by _quote
        except (SubmissionTimeoutError, ConnectionError, TimeoutError) as exc:
            sub.ambiguous = True
            sub.job_id = getattr(exc, "job_id", None) or sub.job_id
            raise
        except ProviderError as exc:
            if exc.billed and is_transient(exc):
                self._paid_failure(sub, exc)
            raise

    def _paid_failure(self, sub: _Submission, exc: ProviderError) -> None:
        """A failed attempt the provider bills (e.g. part of a batch, then cancelled): it keeps
        its reservation and row; the next attempt needs a new one, or the budget stops it."""
        self._settle_failure(sub.token, sub.reservation, exc)
        self._count("paid_failures")
        self._open(sub)

    def _look_up(self, token: str, job_id: str | None) -> Job | None:
        """After an ambiguous failure: does the job exist? Re-attach rather than resubmit.

        Only a job that is queued, running or done counts; a cancelled or failed one (e.g. the
        part of a batch an adapter cancelled after a partial failure) is no substitute.
        """
        self._count("lookups")
        found = None
        if job_id is not None:
            try:
                found = _alive(self.provider.attach(job_id))
            except ProviderError:
                found = None
        if found is None and self.provider.supports_lookup:
            found = _alive(self.provider.find_job(token))
        if found is not None:
            self._count("reattached")
        return found

    def _check_resubmission_safe(self, sub: _Submission) -> None:
        """A paid job that may exist where nobody can look: stop, and count it as billed."""
        if self.provider.supports_lookup or sub.job_id is not None or not sub.cost_usd:
            return
        raise PermanentProviderError(
            f"a submission to {self.provider.name} timed out and the service cannot be searched "
            f"for the job; not resubmitting, so as not to pay twice (check the provider's console)",
            billed=True)

    def _accepted(self, token: str, job: Job) -> Job:
        self.ledger.submitted(token, job.job_id, self.clock())
        return job

    def _note_attempt(self, token: str, number: int) -> None:
        self.ledger.attempt(token, number)

    def _count_retry(self, attempt: int, exc: BaseException, wait_s: float) -> None:
        self._count("retries")

    def _settle_failure(self, token: str, reservation: Reservation | None,
                        exc: BaseException) -> None:
        billed = bool(getattr(exc, "billed", False))
        if reservation is not None:
            (self.budget.commit if billed else self.budget.release)(reservation)
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
        except PermanentProviderError as exc:  # failed, cancelled, or gone: settle it
            self._settle_failure(job.token, job.reservation, exc)
            self._untrack(job)
            raise
        self._store(job, result)
        return result

    def _store(self, job: DispatchedJob, result: SamplingResult) -> None:
        actual = None
        if job.request is not None:
            actual = billed_cost_usd(self.calibration, job.request, job.tasks, result.usage)
        self.ledger.finished(job.token, result, fetched_at=self.clock(), cost_usd=actual,
                             keep_result=job.store_result)
        if job.reservation is not None:
            self.budget.commit(job.reservation, cost_usd=actual)
        self._count("results")
        self._untrack(job)

    def _reattach(self, entry: LedgerEntry) -> DispatchedJob | None:
        inner = self._look_up(entry.token, entry.job_id)
        if inner is None:
            # on a device that bills, a vanished job may have cost
            self.ledger.failed(entry.token, "could not re-attach after a restart",
                               billed=entry.billed and bills(self.calibration), status=LOST)
            return None
        self._accepted(entry.token, inner)
        self._count("resumed")
        tasks = max(1, -(-entry.circuits // self.provider.profile.limits.max_circuits_per_job))
        reservation = self.budget.reserve(entry.shots, entry.cost_usd, tasks, force=True)
        job = DispatchedJob(self, inner, entry.token, entry.request_hash, reservation, None, tasks)
        return self._track(job)


def _alive(job: Job | None) -> Job | None:
    if job is None:
        return None
    try:
        status = job.status()
    except ProviderError:
        return job  # the service cannot say now; the job exists, so waiting on it is right
    return None if status in (JobStatus.CANCELLED, JobStatus.FAILED) else job



class _Submission:
    """One request on its way out: its cost, its current token and reservation, and what an
    ambiguous failure left us knowing."""

    def __init__(self, request: SamplingRequest, digest: str, tasks: int, cost_usd: Decimal):
        self.request, self.digest, self.tasks, self.cost_usd = request, digest, tasks, cost_usd
        self.token = ""
        self.reservation: Reservation | None = None
        self.ambiguous = False
        self.job_id: str | None = None
        self.noted = 0  # the attempt number the ledger row holds


class DispatchedJob(Job):
    """A job sent through the Dispatcher: its result is recorded and paid for exactly once."""

    def __init__(self, dispatcher: Dispatcher, inner: Job, token: str, digest: str,
                 reservation: Reservation | None, request: SamplingRequest | None, tasks: int,
                 store_result: bool = True):
        self.job_id = inner.job_id
        self.token = token
        self.digest = digest
        self.reservation = reservation
        self.request = request
        self.tasks = tasks
        self.store_result = store_result  # False: the ledger keeps the row, not the payload
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
