"""The one seam between training and a quantum provider.

Exploration and evaluation call `HardwareSampler.sample(controls)`: one sampling job carrying
every environment's circuit, sent through the run's `Dispatcher` (validation, budget
reservation, ledger row before waiting, retries, result stored before use, finished results
reused by request hash). The learner never holds a sampler. The sampler keeps the run's
hardware figures: jobs, circuits, shots, latencies, jobs in flight, busy time; dollars are the
budget's (the one place where spending is accounted).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from qhil.execution.budget import Budget
from qhil.execution.dispatcher import Dispatcher
from qhil.quantum.ansatz import HDQNNAnsatz


@dataclass
class HardwareStats:
    """Running totals of the run's hardware use (restored on resume)."""

    jobs: int = 0
    circuits: int = 0
    shots: int = 0
    cost_usd: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    busy_s: float = 0.0
    eval_jobs: list[int] = field(default_factory=list)  # indices into latencies_s of evaluation jobs

    def merged(self, other: HardwareStats) -> HardwareStats:
        """The totals of two samplers' use (dollars are the shared budget's, not summed)."""
        return HardwareStats(self.jobs + other.jobs, self.circuits + other.circuits,
                             self.shots + other.shots, max(self.cost_usd, other.cost_usd),
                             self.latencies_s + other.latencies_s, self.busy_s + other.busy_s)

    def summary(self) -> dict[str, float | int | None]:
        lat = np.asarray(self.latencies_s) if self.latencies_s else None
        return {"jobs": self.jobs, "circuits": self.circuits, "shots": self.shots,
                "cost_usd": round(self.cost_usd, 6),
                "latency_p50_s": None if lat is None else float(np.percentile(lat, 50)),
                "latency_p95_s": None if lat is None else float(np.percentile(lat, 95))}


class HardwareSampler:
    """Submits a batch of controls as one job and returns its marginals (B, n)."""

    def __init__(self, dispatcher: Dispatcher, ansatz: HDQNNAnsatz, shots: int, seed: int,
                 job_timeout_s: float, stats: HardwareStats | None = None,
                 keep_results: bool = True):
        self.dispatcher = dispatcher
        self.budget: Budget = dispatcher.budget
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
        request = replace(self.ansatz.request(controls, self.shots, seed=seed),
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
            s.cost_usd = float(self.budget.spent().cost_usd)
            s.latencies_s.append(latency_s)
            s.busy_s += latency_s

    def state(self) -> dict:
        with self._lock:
            return asdict(self.stats)
