"""A Qiskit primitive job (Aer, local testing mode or IBM Quantum) behind qhil's Job contract.

PUB results become (B, n) marginals and counts in request row order; the rows each PUB serves
travel in its circuit's metadata ("qhil_rows"), which the Sampler hands back in each PUB result's
`metadata["circuit_metadata"]`, so a job re-attached by id after a restart (whose layout is not
known up front) is converted exactly like the one submitted. Vendor failures become qhil.errors (`qiskit_error`).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qhil.adapters.qiskit_circuits import CREG, marginals_from_bits
from qhil.adapters.qiskit_errors import qiskit_error
from qhil.errors import JobCancelledError, PermanentProviderError, QhilError
from qhil.execution.job import Job, JobMetrics, JobStatus, JobTimings, SamplingResult

ROWS_KEY = "qhil_rows"
STATES = {"INITIALIZING": JobStatus.QUEUED, "QUEUED": JobStatus.QUEUED,
          "VALIDATING": JobStatus.QUEUED, "RUNNING": JobStatus.RUNNING, "DONE": JobStatus.DONE,
          "ERROR": JobStatus.FAILED, "CANCELLED": JobStatus.CANCELLED}


@dataclass(frozen=True)
class PubLayout:
    """Which request rows each PUB of a job serves, and the register width."""

    rows: list[list[int]]
    n_qubits: int

    @property
    def batch_size(self) -> int:
        return sum(len(r) for r in self.rows)

    @classmethod
    def from_results(cls, pub_results: list[Any]) -> PubLayout:
        """The layout a job's PUB results carry back in their circuit metadata."""
        try:
            rows = [list(r.metadata["circuit_metadata"][ROWS_KEY]) for r in pub_results]
        except (KeyError, TypeError, AttributeError):
            raise PermanentProviderError(
                "the job's results carry no qhil row layout; was it submitted by qhil?") from None
        return cls(rows=rows, n_qubits=getattr(pub_results[0].data, CREG).num_bits)


def outputs(pub_results: list[Any], layout: PubLayout) -> tuple[np.ndarray, list[dict[str, int]], int]:
    """PUB results -> (marginals (B, n), counts per row, shots), rows in request order."""
    marginals = np.zeros((layout.batch_size, layout.n_qubits))
    counts: list[dict[str, int]] = [{} for _ in range(layout.batch_size)]
    shots = 0
    for pub_result, rows in zip(pub_results, layout.rows, strict=True):
        bits = getattr(pub_result.data, CREG)
        shots = bits.num_shots
        marginals[rows] = marginals_from_bits(bits.to_bool_array(order="big"))
        for index, row in enumerate(rows):
            counts[row] = {k: int(v) for k, v in bits.get_counts(index).items()}
    return marginals, counts, shots


def status_of(vendor_job: Any) -> JobStatus:
    """The vendor's status (a string on IBM, an enum on Aer) as a qhil JobStatus."""
    raw = vendor_job.status()
    return STATES.get(getattr(raw, "name", str(raw)).upper(), JobStatus.QUEUED)


def _epoch(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


class QiskitJob(Job):
    """One primitive job; `result(timeout_s)` polls `status()` until terminal or the deadline.
    `layout` None (a re-attached job): read it from the results."""

    def __init__(self, vendor_job: Any, layout: PubLayout | None, provider: str, submitted_at: float,
                 poll_s: float = 0.02, sleep: Callable[[float], None] = time.sleep):
        self.vendor_job = vendor_job
        self.job_id = str(vendor_job.job_id())
        self.layout = layout
        self.provider = provider
        self.submitted_at = submitted_at
        self.poll_s = poll_s
        self._sleep = sleep
        self._seen: dict[JobStatus, float] = {}
        self._result: SamplingResult | None = None

    def status(self) -> JobStatus:
        try:
            state = status_of(self.vendor_job)
        except QhilError:
            raise
        except Exception as exc:
            raise qiskit_error(exc, self.job_id) from exc
        self._seen.setdefault(state, time.time())
        return state

    def result(self, timeout_s: float | None = None) -> SamplingResult:
        if self._result is None:
            self._wait(timeout_s)
            self._result = self._fetch()
        return self._result

    def _wait(self, timeout_s: float | None) -> None:
        if self.poll_until_terminal(timeout_s, self.poll_s, self._sleep) is JobStatus.CANCELLED:
            raise JobCancelledError(f"job {self.job_id} was cancelled", job_id=self.job_id,
                                    billed=True)

    def _fetch(self) -> SamplingResult:
        try:
            pub_results = list(self.vendor_job.result())
        except QhilError:
            raise
        except Exception as exc:
            raise qiskit_error(exc, self.job_id) from exc
        layout = self.layout or PubLayout.from_results(pub_results)
        marginals, counts, shots = outputs(pub_results, layout)
        metrics = self.metrics()
        return SamplingResult(marginals=marginals, shots=shots, counts=counts, job_id=self.job_id,
                              provider=self.provider, timings=metrics.timings.with_fetched(),
                              usage=metrics.usage)

    def metrics(self) -> JobMetrics:
        status = self.status()
        reported = self._vendor_metrics()
        stamps = reported.get("timestamps") or {}
        timings = JobTimings(
            submitted_at=self.submitted_at,
            accepted_at=_epoch(stamps.get("created")) or self._seen.get(JobStatus.QUEUED),
            running_at=_epoch(stamps.get("running")) or self._seen.get(JobStatus.RUNNING),
            finished_at=_epoch(stamps.get("finished")) or self._seen.get(JobStatus.DONE))
        timings = _ordered(timings)
        return JobMetrics(job_id=self.job_id, status=status, timings=timings,
                          usage=_usage(reported))

    def _vendor_metrics(self) -> dict[str, Any]:
        metrics = getattr(self.vendor_job, "metrics", None)
        if metrics is None:
            return {}
        try:
            return metrics() or {}
        except Exception:  # metrics are informative; a failed lookup must not fail the job
            return {}

    def cancel(self) -> bool:
        try:
            self.vendor_job.cancel()
        except Exception as exc:
            raise qiskit_error(exc, self.job_id) from exc
        return True


def _usage(reported: dict[str, Any]) -> dict[str, float]:
    usage = reported.get("usage") or {}
    for key in ("quantum_seconds", "qpu_charge_time_seconds"):
        if usage.get(key) is not None:
            return {"qpu_s": float(usage[key])}
    return {}


def _ordered(t: JobTimings) -> JobTimings:
    """Service clocks differ from ours; keep submitted <= finished so durations stay sane."""
    finished = t.finished_at
    if finished is not None and finished < t.submitted_at:
        shift = t.submitted_at - finished
        return JobTimings(submitted_at=t.submitted_at,
                          accepted_at=t.accepted_at and t.accepted_at + shift,
                          running_at=t.running_at and t.running_at + shift,
                          finished_at=finished + shift)
    return t

