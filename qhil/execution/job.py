"""Job, its closed set of states, its timings and its result.

    Job.status() -> JobStatus           never blocks
    Job.result(timeout_s) -> SamplingResult
        raises JobTimeoutError (still running), JobFailedError, JobCancelledError
    Job.metrics() -> JobMetrics         timings and provider-reported usage
"""

from __future__ import annotations

import enum
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import CancelledError, Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qhil.errors import JobCancelledError, JobFailedError, JobTimeoutError, QhilError


class JobStatus(str, enum.Enum):
    """The states a job moves through; DONE, FAILED and CANCELLED are terminal."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobTimings:
    """Wall-clock epoch seconds of a job's milestones; None where the provider does not say."""

    submitted_at: float
    accepted_at: float | None = None
    running_at: float | None = None
    finished_at: float | None = None
    fetched_at: float | None = None

    @property
    def queue_s(self) -> float | None:
        start = self.accepted_at or self.submitted_at
        return None if self.running_at is None else max(0.0, self.running_at - start)

    @property
    def execution_s(self) -> float | None:
        if self.running_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.running_at)

    @property
    def round_trip_s(self) -> float | None:
        end = self.fetched_at or self.finished_at
        return None if end is None else max(0.0, end - self.submitted_at)

    def with_fetched(self) -> JobTimings:
        return replace(self, fetched_at=time.time())


@dataclass(frozen=True)
class SamplingResult:
    """What a job returns: per-circuit per-qubit marginals and, where given, raw counts.

    Attributes:
        marginals: (B, n) float64 in [0, 1]: P(qubit j reads 1), exact or estimated from shots.
        shots: shots per circuit, None for exact marginals.
        counts: per circuit a dict bitstring -> count, qubit 0 first; None if not available.
        job_id: the provider's job id (several, comma-joined, when a batch was split).
        provider: the provider profile name.
        timings: the job's milestones.
        usage: provider-reported usage, e.g. {"qpu_s": 1.2}.
        probabilities: (B, 2**n) exact basis-state probabilities (qubit 0 the most significant
            bit), from a provider that gives them (`Provider.exact_probabilities`) for shots=None
            and a request that asks for counts; None otherwise.
    """

    marginals: np.ndarray
    shots: int | None
    counts: list[dict[str, int]] | None
    job_id: str
    provider: str
    timings: JobTimings
    usage: dict[str, float] = field(default_factory=dict)
    probabilities: np.ndarray | None = None


@dataclass(frozen=True)
class JobMetrics:
    """A job's timings and usage at the time of asking."""

    job_id: str
    status: JobStatus
    timings: JobTimings
    usage: dict[str, float] = field(default_factory=dict)


class Job(ABC):
    """A submitted batch. Adapters subclass it; users only call the public methods."""

    job_id: str

    @abstractmethod
    def status(self) -> JobStatus: ...

    @abstractmethod
    def result(self, timeout_s: float | None = None) -> SamplingResult: ...

    @abstractmethod
    def metrics(self) -> JobMetrics: ...

    def cancel(self) -> bool:
        """Ask the provider to cancel; returns whether it will be."""
        return False

    def poll_until_terminal(self, timeout_s: float | None, interval_s: float,
                            sleep: Callable[[float], None] = time.sleep) -> JobStatus:
        """Poll `status()` every `interval_s` until it is terminal; JobTimeoutError after
        `timeout_s` (None waits for ever). Returns the terminal status."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not (status := self.status()).terminal:
            if deadline is not None and time.monotonic() >= deadline:
                raise JobTimeoutError(
                    f"job {self.job_id} not finished after {timeout_s} s; it is still {status.value}")
            sleep(interval_s)
        return status


class FutureJob(Job):
    """A job run by a local executor: a thread computes the result behind a Future."""

    def __init__(self, job_id: str, submitted_at: float):
        self.job_id = job_id
        self.submitted_at = submitted_at
        self._future: Future = Future()
        self.running_at: float | None = None

    def run_in(self, executor: Executor, fn: Callable[..., SamplingResult], *args: Any) -> FutureJob:
        """Start `fn(*args)` on the executor; `running_at` is stamped when it starts."""
        self._future = executor.submit(self._timed, fn, *args)
        return self

    def _timed(self, fn: Callable[..., SamplingResult], *args: Any) -> SamplingResult:
        self.running_at = time.time()
        return fn(*args)

    def status(self) -> JobStatus:
        f = self._future
        if f.cancelled():
            return JobStatus.CANCELLED
        if f.done():
            return JobStatus.FAILED if f.exception() is not None else JobStatus.DONE
        return JobStatus.RUNNING if f.running() else JobStatus.QUEUED

    def result(self, timeout_s: float | None = None) -> SamplingResult:
        try:
            result = self._future.result(timeout=timeout_s)
        except FutureTimeout:
            raise JobTimeoutError(
                f"job {self.job_id} not finished after {timeout_s} s; it is still running") from None
        except CancelledError:
            raise JobCancelledError(f"job {self.job_id} was cancelled", job_id=self.job_id) from None
        except QhilError:
            raise
        except Exception as exc:
            raise JobFailedError(f"job {self.job_id} failed: {exc}", job_id=self.job_id) from exc
        return replace(result, timings=result.timings.with_fetched())

    def metrics(self) -> JobMetrics:
        timings = JobTimings(submitted_at=self.submitted_at, accepted_at=self.submitted_at,
                             running_at=self.running_at)
        if self._future.done() and self._future.exception() is None:
            timings = self._future.result().timings
        return JobMetrics(job_id=self.job_id, status=self.status(), timings=timings)

    def cancel(self) -> bool:
        return self._future.cancel()
