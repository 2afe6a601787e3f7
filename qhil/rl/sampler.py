"""The one seam between training and a quantum provider.

Exploration and evaluation call `HardwareSampler.sample(controls)`: one sampling job carrying
every environment's circuit, sent through the run's `Dispatcher` (validation, budget
reservation, ledger row before waiting, retries, result stored before use, finished results
reused by request hash). The learner's jobs go through a sampler of their own. A sampler counts
its own requests (the job counter seeds the next request; the learner's counts are its share of
the run, which the ledger does not split), latencies, jobs in flight and busy time; what the run
bought (jobs, shots, dollars) is the ledger's alone (qhil.rl.metrics.ledger_totals).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from qhil.execution.dispatcher import Dispatcher
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.rl.summary import HardwareSummary


@dataclass
class HardwareStats:
    """One sampler's requests (restored on resume): jobs (the seed counter), circuits, shots,
    latencies and busy time. Not the run's accounting: that is its ledger's."""

    jobs: int = 0
    circuits: int = 0
    shots: int = 0
    latencies_s: list[float] = field(default_factory=list)
    busy_s: float = 0.0
    eval_jobs: list[int] = field(default_factory=list)  # indices into latencies_s of evaluation jobs

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> HardwareStats:
        """From a checkpoint's state; keys of older checkpoints (`cost_usd`) are dropped."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (state or {}).items() if k in names})

    def merged(self, other: HardwareStats) -> HardwareStats:
        """Two samplers' requests together (e.g. for the QPU's busy share)."""
        return HardwareStats(self.jobs + other.jobs, self.circuits + other.circuits,
                             self.shots + other.shots, self.latencies_s + other.latencies_s,
                             self.busy_s + other.busy_s)

    def summary(self) -> HardwareSummary:
        """The requests as a summary's figures; dollars are left to the ledger (None)."""
        lat = np.asarray(self.latencies_s) if self.latencies_s else None
        return HardwareSummary(
            jobs=self.jobs, circuits=self.circuits, shots=self.shots, cost_usd=None,
            latency_p50_s=None if lat is None else float(np.percentile(lat, 50)),
            latency_p95_s=None if lat is None else float(np.percentile(lat, 95)))


class HardwareSampler:
    """Submits a batch of controls as one job and returns its marginals (B, n)."""

    def __init__(self, dispatcher: Dispatcher, ansatz: HDQNNAnsatz, shots: int, seed: int,
                 job_timeout_s: float, stats: HardwareStats | None = None,
                 keep_results: bool = True):
        self.dispatcher = dispatcher
        self.ansatz = ansatz
        self.shots = shots
        self.seed = seed
        self.job_timeout_s = job_timeout_s
        self.stats = stats or HardwareStats()
        # False: the learner's results: no per-circuit counts are built, the ledger keeps the
        # marginals (compactly, until no kept checkpoint can replay them) and `sent` the
        # request hashes, for the learner's journal
        self.keep_results = keep_results
        self.sent: list[str] = []
        self.in_flight = 0
        self._lock = threading.Lock()

    def check(self, batch: int) -> None:
        """Validate a request of this shape against the provider before anything is spent."""
        controls = np.zeros((batch, self.ansatz.control_dim))
        self.dispatcher.provider.validate(self.ansatz.request(controls, self.shots, seed=0))

    def sample(self, controls: np.ndarray, purpose: str = "explore") -> np.ndarray:
        """One job for the whole batch; blocks the calling (explorer/evaluator) thread."""
        seed = (self.seed * 1_000_003 + self.stats.jobs) % 2**31
        request = self.ansatz.request(controls, self.shots, seed=seed).relabelled(
            tags={"purpose": purpose}, counts=self.keep_results)
        if not self.keep_results:
            self.sent.append(request.digest())
        started = time.perf_counter()
        with self._lock:
            self.in_flight += 1
        try:
            result = self.dispatcher.run(request, timeout_s=self.job_timeout_s)
        finally:
            with self._lock:
                self.in_flight -= 1
        self._account(request.batch_size, time.perf_counter() - started, purpose)
        return np.asarray(result.marginals, dtype=np.float32)

    def _account(self, circuits: int, latency_s: float, purpose: str = "explore") -> None:
        with self._lock:
            s = self.stats
            if purpose == "evaluate":
                s.eval_jobs.append(len(s.latencies_s))
            s.jobs += 1
            s.circuits += circuits
            s.shots += circuits * self.shots
            s.latencies_s.append(latency_s)
            s.busy_s += latency_s

    def state(self) -> dict:
        with self._lock:
            return asdict(self.stats)
