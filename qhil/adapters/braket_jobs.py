"""Braket tasks behind qhil's Job contract, Braket results -> counts, vendor errors -> qhil.errors.

A qhil batch may travel as several Braket tasks (program sets chunked by the device's limits, or
one task per circuit where program sets are not supported). `BraketTaskJob` holds them in order;
its id is their ARNs joined by commas, which is all `BraketProvider.attach` needs, because each
task's executables come back in request-row order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from braket.task_result import ProgramSetExecutableFailure

from qhil.adapters.braket_circuits import marginals_and_counts
from qhil.errors import (
    AuthenticationError,
    JobCancelledError,
    JobFailedError,
    PermanentProviderError,
    ProviderError,
    SubmissionTimeoutError,
    TransientProviderError,
)
from qhil.execution.job import Job, JobMetrics, JobStatus, JobTimings, SamplingResult

STATES: dict[str, JobStatus] = {
    "CREATED": JobStatus.QUEUED, "QUEUED": JobStatus.QUEUED, "RUNNING": JobStatus.RUNNING,
    "COMPLETED": JobStatus.DONE, "FAILED": JobStatus.FAILED,
    "CANCELLING": JobStatus.CANCELLED, "CANCELLED": JobStatus.CANCELLED,
}
TRANSIENT_CODES = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
                   "InternalServiceException", "ServiceUnavailable", "ServiceUnavailableException",
                   "DeviceOfflineException", "ServiceQuotaExceededException", "SlowDown"}
AUTH_CODES = {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
              "InvalidSignatureException", "ExpiredTokenException", "ExpiredToken",
              "InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken"}
TRANSIENT_BOTO = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError)


def braket_error(exc: Exception, action: str, job_id: str | None = None) -> ProviderError:
    """The qhil error for a botocore / Braket SDK exception raised while doing `action`."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ClientError):
        return _client_error(exc, action, job_id)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AuthenticationError(f"{action}: {exc}; configure AWS credentials (aws configure)")
    if isinstance(exc, ReadTimeoutError):
        return SubmissionTimeoutError(f"{action}: no answer in time ({exc}); the task may exist",
                                      job_id=job_id)
    if isinstance(exc, TRANSIENT_BOTO) or isinstance(exc, (ConnectionError, TimeoutError)):
        return TransientProviderError(f"{action}: connection failed ({exc})", job_id=job_id)
    if isinstance(exc, BotoCoreError):
        return TransientProviderError(f"{action}: {exc}", job_id=job_id)
    return PermanentProviderError(f"{action}: {type(exc).__name__}: {exc}", job_id=job_id)


def _client_error(exc: ClientError, action: str, job_id: str | None) -> ProviderError:
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    message = f"{action}: {code}: {error.get('Message', '')}".rstrip(": ")
    if code in AUTH_CODES or status in (401, 403):
        return AuthenticationError(f"{message}; check the AWS credentials and their permissions",
                                   job_id=job_id)
    if code in TRANSIENT_CODES or status == 429 or status >= 500:
        return TransientProviderError(message, job_id=job_id)
    return PermanentProviderError(message, job_id=job_id)


def counts_of(task_result: Any) -> list[dict[str, int]]:
    """Per-executable counts (qubit 0 first) of a program-set or single-circuit task result."""
    if not hasattr(task_result, "entries"):
        return [dict(task_result.measurement_counts)]
    out = []
    for composite in task_result.entries:
        for entry in composite.entries:
            if isinstance(entry, ProgramSetExecutableFailure):
                raise JobFailedError(f"an executable failed: {entry.failureMetadata}")
            out.append(dict(entry.counts))
    return out


def epoch(value: Any) -> float | None:
    """A service timestamp (datetime, ISO string or None) as epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


class BraketTaskJob(Job):
    """One qhil batch carried by one or more Amazon Braket quantum tasks (AwsQuantumTask)."""

    def __init__(self, tasks: list[Any], *, n_qubits: int | None, provider: str,
                 submitted_at: float, poll_interval_s: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.tasks = tasks
        self.job_id = ",".join(t.id for t in tasks)
        self.n_qubits = n_qubits
        self.provider = provider
        self.submitted_at = submitted_at
        self.poll_interval_s = poll_interval_s
        self._sleep = sleep
        self._result: SamplingResult | None = None

    def status(self) -> JobStatus:
        if self._result is not None:
            return JobStatus.DONE
        return combined([STATES.get(s, JobStatus.QUEUED) for s in self._states()])

    def result(self, timeout_s: float | None = None) -> SamplingResult:
        if self._result is None:
            self._wait(timeout_s)
            self._result = self._collect()
        return self._result

    def metrics(self) -> JobMetrics:
        status = self.status()
        return JobMetrics(job_id=self.job_id, status=status, timings=self._timings(),
                          usage={"tasks": float(len(self.tasks))})

    def cancel(self) -> bool:
        for task in self.tasks:
            _call(task.cancel, f"cancel task {task.id}", task.id)
        return True

    def _states(self) -> list[str]:
        return [_call(t.state, f"get task {t.id}", t.id) for t in self.tasks]

    def _wait(self, timeout_s: float | None) -> None:
        status = self.poll_until_terminal(timeout_s, self.poll_interval_s, self._sleep)
        if status is not JobStatus.DONE:
            self._raise_failure(status)

    def _raise_failure(self, status: JobStatus) -> None:
        for task in self.tasks:
            meta = _call(lambda t=task: t.metadata(True), f"get task {task.id}", task.id)
            state, reason = meta.get("status"), meta.get("failureReason", "no reason given")
            if state == "FAILED":
                raise JobFailedError(f"Braket task {task.id} failed: {reason}", job_id=self.job_id)
            if state in ("CANCELLED", "CANCELLING"):
                raise JobCancelledError(f"Braket task {task.id} was cancelled", job_id=self.job_id)
        raise JobFailedError(f"job {self.job_id} ended {status.value}", job_id=self.job_id)

    def _collect(self) -> SamplingResult:
        counts: list[dict[str, int]] = []
        for task in self.tasks:
            task_result = _call(task.result, f"fetch result of {task.id}", task.id)
            if task_result is None:
                reason = task.metadata(True).get("failureReason", "the SDK returned no result")
                raise JobFailedError(f"Braket task {task.id} gave no result: {reason}",
                                     job_id=self.job_id)
            counts.extend(counts_of(task_result))
        n_qubits = self.n_qubits or (len(next(iter(counts[0]))) if counts and counts[0] else 0)
        marginals, plain = marginals_and_counts(counts, n_qubits)
        shots = sum(plain[0].values()) if plain else None
        return SamplingResult(marginals=marginals, shots=shots, counts=plain, job_id=self.job_id,
                              provider=self.provider, timings=self._timings().with_fetched(),
                              usage={"tasks": float(len(self.tasks))})

    def _timings(self) -> JobTimings:
        metas = [t.metadata(True) for t in self.tasks]
        created = [epoch(m.get("createdAt")) for m in metas]
        ended = [epoch(m.get("endedAt")) for m in metas]
        accepted_at = min((c for c in created if c is not None), default=None)
        finished_at = None if None in ended or not ended else max(ended)
        return JobTimings(submitted_at=min(self.submitted_at, accepted_at or self.submitted_at),
                          accepted_at=accepted_at, finished_at=finished_at)


def combined(states: list[JobStatus]) -> JobStatus:
    """The state of a batch from the states of its tasks: any failure fails it."""
    for worst in (JobStatus.FAILED, JobStatus.CANCELLED):
        if worst in states:
            return worst
    if all(s is JobStatus.DONE for s in states):
        return JobStatus.DONE
    return JobStatus.RUNNING if any(s is not JobStatus.QUEUED for s in states) else JobStatus.QUEUED


def _call(fn: Callable[[], Any], action: str, job_id: str) -> Any:
    try:
        return fn()
    except Exception as exc:  # vendor exceptions become qhil errors here, in one place
        raise braket_error(exc, action, job_id) from exc

