"""The `chaos` provider: wraps any provider and adds seeded latency and faults.

Profile options (all optional but `inner`):
    inner                    profile the work really runs on, e.g. "local"
    seed                     seeds every draw below, so a run's faults are reproducible
    latency_median_s, latency_p95_s   lognormal extra latency per job (0 = none)
    submit_failure_rate      submit raises TransientProviderError (throttled; nothing created)
    submit_timeout_rate      the job IS created, then submit raises SubmissionTimeoutError with
                             no job id: only a search by the `qhil_token` tag finds it
    partial_failure_rate     part of the batch was created, then the rest was throttled; the part
                             is cancelled but billed: TransientProviderError(billed=True)
    lost_result_rate         a job object's result() raises TransientProviderError every time;
                             a fresh `attach(job_id)` fetches it
    duplicate_delivery_rate  the result is delivered, the connection drops before the client has
                             it, and the next fetch delivers it again
    job_failure_rate         the job ends FAILED (a system error, not billed): JobFailedError
    service_dir              jobs are kept in this folder, as a cloud service keeps them: another
                             process attaches by id or finds them by token (chaos_spool.JobSpool)

`stats` counts what happened; `jobs_per_token` / `jobs_per_request` count the jobs the service
really created (the ground truth against which "never paid twice" is checked).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
from pydantic import Field, ValidationError, model_validator

from qhil.adapters.chaos_spool import JobSpool
from qhil.config import ProviderProfile, StrictModel, find_profile
from qhil.errors import (
    ConfigError,
    JobFailedError,
    JobTimeoutError,
    PermanentProviderError,
    SubmissionTimeoutError,
    TransientProviderError,
)
from qhil.execution.job import Job, JobMetrics, JobStatus, JobTimings, SamplingResult
from qhil.execution.provider import TOKEN_TAG, Availability, Capabilities, Provider
from qhil.quantum.request import SamplingRequest

Z95 = 1.6448536269514722


class ChaosSettings(StrictModel):
    """The faults a chaos profile injects (its [options] table)."""

    inner: str = Field(description="Profile of the provider the work really runs on.")
    seed: int = Field(0, description="Seed of every latency and fault draw.", ge=0)
    latency_median_s: float = Field(0.0, description="Median extra latency per job.", ge=0)
    latency_p95_s: float = Field(0.0, description="95th percentile extra latency per job.", ge=0)
    submit_failure_rate: float = Field(0.0, description="Share of submits throttled.", ge=0, le=1)
    submit_timeout_rate: float = Field(
        0.0, description="Share of submits that time out after the job was created.", ge=0, le=1)
    partial_failure_rate: float = Field(
        0.0, description="Share of submits that fail half-way, billed (a cancelled part).",
        ge=0, le=1)
    lost_result_rate: float = Field(0.0, description="Share of results lost in transit.", ge=0, le=1)
    duplicate_delivery_rate: float = Field(
        0.0, description="Share of results delivered twice.", ge=0, le=1)
    job_failure_rate: float = Field(
        0.0, description="Share of jobs that end FAILED (system error, not billed).", ge=0, le=1)
    service_dir: str | None = Field(
        None, description="Folder where jobs outlive their process (attach from a new one).")

    @model_validator(mode="after")
    def _consistent(self) -> ChaosSettings:
        if self.latency_p95_s < self.latency_median_s:
            raise ValueError("latency_p95_s must be at least latency_median_s")
        if self.submit_failure_rate + self.submit_timeout_rate + self.partial_failure_rate > 1:
            raise ValueError("submit_failure_rate + submit_timeout_rate + partial_failure_rate "
                             "must not exceed 1")
        return self

    def latency_s(self, rng: np.random.Generator) -> float:
        if self.latency_median_s <= 0:
            return 0.0
        sigma = math.log(self.latency_p95_s / self.latency_median_s) / Z95
        return float(self.latency_median_s * math.exp(sigma * rng.standard_normal()))


def chaos_settings(profile: ProviderProfile) -> ChaosSettings:
    try:
        return ChaosSettings(**profile.options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(["options", *(str(p) for p in err["loc"])])
        raise ConfigError(f"{profile.source_path}: field '{where}': {err['msg']}") from None


@dataclass
class _Record:
    """The service's view of one job."""

    job_id: str
    inner: Job
    token: str | None
    delay_s: float
    lost: bool
    duplicate: bool
    failed: bool = False


class ChaosProvider(Provider):
    """Latency and faults, seeded, around another provider."""

    kind = "chaos"
    supports_lookup = True

    def __init__(self, profile: ProviderProfile):
        super().__init__(profile)
        from qhil.execution.registry import get_provider  # registry imports adapters lazily

        self.settings = chaos_settings(profile)
        self.inner = get_provider(self.settings.inner)
        self.native_batching = self.inner.native_batching
        self.supports_seed = self.inner.supports_seed
        self._rng = np.random.default_rng(self.settings.seed)
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}
        self._by_token: dict[str, str] = {}
        self.spool = JobSpool(self.settings.service_dir) if self.settings.service_dir else None
        self.stats: Counter[str] = Counter()
        self.jobs_per_token: Counter[str] = Counter()
        self.jobs_per_request: Counter[str] = Counter()

    @classmethod
    def availability(cls, profile: ProviderProfile) -> Availability:
        from qhil.execution.registry import availability

        inner = chaos_settings(profile).inner  # a malformed chaos profile is an error, not "unusable"
        try:
            return availability(find_profile(inner))
        except ConfigError as exc:
            return Availability(usable=False, reason=str(exc))

    def capabilities(self) -> Capabilities:
        """The inner provider's, narrowed by this profile's own limits."""
        inner, own = self.inner.capabilities(), self.profile.limits
        return replace(inner, max_qubits=min(inner.max_qubits, own.max_qubits),
                       min_shots=max(inner.min_shots, own.min_shots),
                       max_shots=min(inner.max_shots, own.max_shots),
                       max_circuits_per_job=min(inner.max_circuits_per_job,
                                                own.max_circuits_per_job),
                       supports_exact=inner.supports_exact and own.supports_exact)

    def validate(self, request: SamplingRequest) -> None:
        """This profile's limits, then the inner provider's own checks (e.g. memory)."""
        super().validate(request)
        self.inner.validate(request)

    def close(self) -> None:
        self.inner.close()

    def _pricing_model(self) -> str:
        return self.inner.capabilities().pricing_model

    def _submit(self, request: SamplingRequest) -> Job:
        roll = self._draw()
        s = self.settings
        if roll < s.submit_failure_rate:
            self._count("throttled")
            raise TransientProviderError(f"{self.name}: throttled (HTTP 429 Too Many Requests)")
        if roll >= 1 - s.partial_failure_rate:
            self._count("partial_failures")
            raise TransientProviderError(f"{self.name}: part of the batch was created, then the "
                                         f"rest throttled; the part was cancelled (billed)",
                                         billed=True)
        record = self._create(request)
        if roll < s.submit_failure_rate + s.submit_timeout_rate:
            self._count("submit_timeouts")
            raise SubmissionTimeoutError(
                f"{self.name}: no answer to the submission in time; the job may exist")
        return ChaosJob(self, record)

    def _create(self, request: SamplingRequest) -> _Record:
        token = request.tags.get(TOKEN_TAG)
        with self._lock:
            delay_s = self.settings.latency_s(self._rng)
            lost = self._rng.random() < self.settings.lost_result_rate
            duplicate = self._rng.random() < self.settings.duplicate_delivery_rate
            failed = self._rng.random() < self.settings.job_failure_rate
            if self.spool is not None and request.seed is None:  # a re-run must give the same
                request = replace(request, seed=int(self._rng.integers(2**31)))
        inner = self.inner.submit(request)
        if self.spool is not None:
            self.spool.save(inner.job_id, request, token, delay_s)
        record = _Record(inner.job_id, inner, token, delay_s, lost, duplicate, failed)
        with self._lock:
            self._records[record.job_id] = record
            if token is not None:
                self._by_token[token] = record.job_id
                self.jobs_per_token[token] += 1
            self.jobs_per_request[request.digest()] += 1
            self.stats["accepted"] += 1
        return record

    def _attach(self, job_id: str) -> Job:
        with self._lock:
            record = self._records.get(job_id)
        if record is None:
            record = self._from_spool(job_id)
        if record is None:
            raise PermanentProviderError(f"{self.name}: no job {job_id}")
        return ChaosJob(self, record)

    def _from_spool(self, job_id: str) -> _Record | None:
        """A job another process sent: the service still has it (re-run from its request)."""
        spooled = self.spool.load(job_id) if self.spool is not None else None
        if spooled is None:
            return None
        inner = self.inner.submit(spooled.request)
        record = _Record(job_id, inner, spooled.token, spooled.delay_s, False, False, False)
        with self._lock:
            record = self._records.setdefault(job_id, record)
            self.stats["reattached_from_service"] += 1
        return record

    def find_job(self, token: str) -> Job | None:
        with self._lock:
            job_id = self._by_token.get(token)
        if job_id is None and self.spool is not None:
            job_id = self.spool.find(token)
        return None if job_id is None else self._attach(job_id)

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def _draw(self) -> float:
        with self._lock:
            return float(self._rng.random())

    def _deliver(self, record: _Record, handle: ChaosJob) -> None:
        """Inject the delivery faults: a lost result stays lost for this handle only."""
        with self._lock:
            if record.failed:
                self.stats["failed_jobs"] += 1
                raise JobFailedError(f"{self.name}: job {record.job_id} failed (system error; "
                                     f"not billed)", job_id=record.job_id, billed=False)
            if handle.born_lost:
                self.stats["lost_results"] += 1
                raise TransientProviderError(f"{self.name}: result of {record.job_id} lost in "
                                             f"transit", job_id=record.job_id, billed=True)
            self.stats["deliveries"] += 1
            if record.duplicate:
                record.duplicate = False
                self.stats["duplicate_deliveries"] += 1
                raise TransientProviderError(
                    f"{self.name}: connection reset while delivering {record.job_id}; it will be "
                    f"delivered again", job_id=record.job_id, billed=True)


class ChaosJob(Job):
    """A handle on a chaos job; its result is the inner result, `delay_s` later."""

    def __init__(self, provider: ChaosProvider, record: _Record):
        self.job_id = record.job_id
        self._provider = provider
        self._record = record
        with provider._lock:
            self.born_lost = record.lost
            record.lost = False  # the next handle (a re-attach) will get the result

    def status(self) -> JobStatus:
        inner = self._record.inner.status()
        if inner is JobStatus.DONE and time.time() < self._ready_at():
            return JobStatus.RUNNING
        return JobStatus.FAILED if inner is JobStatus.DONE and self._record.failed else inner

    def result(self, timeout_s: float | None = None) -> SamplingResult:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        result = self._record.inner.result(timeout_s)
        wait_s = self._ready_at() - time.time()
        if deadline is not None and time.monotonic() + wait_s > deadline:
            time.sleep(max(0.0, deadline - time.monotonic()))
            raise JobTimeoutError(f"job {self.job_id} not finished after {timeout_s} s; "
                                  f"it is still running")
        if wait_s > 0:
            time.sleep(wait_s)
        self._provider._deliver(self._record, self)
        return replace(result, provider=self._provider.name, job_id=self.job_id,
                       timings=replace(self._shift(result.timings), fetched_at=time.time()))

    def metrics(self) -> JobMetrics:
        m = self._record.inner.metrics()
        return replace(m, status=self.status(), timings=self._shift(m.timings))

    def cancel(self) -> bool:
        return self._record.inner.cancel()

    def _ready_at(self) -> float:
        finished = self._record.inner.metrics().timings.finished_at
        return math.inf if finished is None else finished + self._record.delay_s

    def _shift(self, t: JobTimings) -> JobTimings:
        """The injected latency is queue time: running and finished move by it."""
        d = self._record.delay_s
        return replace(t, running_at=None if t.running_at is None else t.running_at + d,
                       finished_at=None if t.finished_at is None else t.finished_at + d)
