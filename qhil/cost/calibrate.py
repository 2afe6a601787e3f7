"""`qhil calibrate`'s engine: probe jobs of several sizes, a fit of per-job overhead, per-circuit
and per-shot time, and a calibration snapshot holding the fit.

    plan = ProbePlan(ansatz, circuits=(1, 8, 64), shots=(10, 100, 1000), repeats=3)
    check_probe_budget(plan, device, max_usd=..., max_shots=..., max_jobs=...)  # before spending
    probes = run_probes(provider, plan, seed=0)
    fit = fit_timing(probes)           # round trip = overhead + queue + c * circuits + s * shots
    calibration = calibrated(base, fit, ...); write_calibration(calibration, path)
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from qhil.calibration import Calibration, Timing
from qhil.cost.device import DeviceModel
from qhil.cost.model import estimate_method
from qhil.cost.workload import Workload
from qhil.errors import BudgetExceededError
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.provider import Provider
from qhil.execution.spend import Spend, check_budget
from qhil.files import toml_text, write_text_atomic
from qhil.progress import Bar
from qhil.quantum.ansatz import HDQNNAnsatz


@dataclass(frozen=True)
class ProbePlan:
    """Every (circuits, shots) size, each submitted `repeats` times, after one warm-up job."""

    ansatz: HDQNNAnsatz
    circuits: tuple[int, ...] = (1, 8, 64)
    shots: tuple[int, ...] = (10, 100, 1000)
    repeats: int = 3

    def sizes(self) -> list[tuple[int, int]]:
        return list(itertools.product(self.circuits, self.shots))

    @property
    def jobs(self) -> int:
        return 1 + self.repeats * len(self.sizes())

    @property
    def total_shots(self) -> int:
        return min(self.shots) + self.repeats * sum(c * s for c, s in self.sizes())


@dataclass(frozen=True)
class TimingProbe:
    """One probe job: its size, the client-side round trip and the queue wait it reported."""

    circuits: int
    shots: int
    round_trip_s: float
    queue_s: float


@dataclass(frozen=True)
class TimingFit:
    """Fit of round trip - queue = overhead + per_circuit * circuits + per_shot * shots, and the
    queue's percentiles and mean."""

    job_overhead_s: float
    per_circuit_s: float
    per_shot_s: float
    queue_p5_s: float
    queue_p50_s: float
    queue_p95_s: float
    queue_mean_s: float
    rel_residual: float
    probes: int

    def predict_s(self, circuits: int, shots: int) -> float:
        return (self.job_overhead_s + self.queue_mean_s + self.per_circuit_s * circuits
                + self.per_shot_s * circuits * shots)


def probe_cost(plan: ProbePlan, device: DeviceModel) -> Decimal:
    """What the probes cost on the device's current pricing, before anything is sent."""
    total = Decimal(0)
    for circuits, shots in [(1, min(plan.shots))] + plan.sizes() * plan.repeats:
        w = Workload(plan.ansatz.n_qubits, plan.ansatz.n_layers, plan.ansatz.entangler,
                     shots=shots, env_steps=1, num_envs=circuits)
        total += estimate_method(w, device, "qtdnn").cost_usd
    return total


def check_probe_budget(plan: ProbePlan, device: DeviceModel, *, max_usd: Decimal | None,
                       max_shots: int | None, max_jobs: int | None) -> Decimal:
    """Refuse a probe plan over any budget flag (`check_budget`, the one budget check); a paid
    device needs an explicit --budget-usd. Returns the probes' cost."""
    cost = probe_cost(plan, device)
    if cost > 0 and max_usd is None:
        raise BudgetExceededError(
            f"the probes would cost about ${cost:.4f} on {device.name} and no --budget-usd was "
            f"given; pass --budget-usd or fewer --circuits/--shots/--repeats")
    check_budget(Spend("the probes", (device.name,), cost > 0, plan.jobs, plan.total_shots, cost),
                 {"usd": max_usd, "shots": max_shots, "jobs": max_jobs})
    return cost


def run_probes(provider: Provider | Dispatcher, plan: ProbePlan, *, seed: int = 0,
               timeout_s: float = 3600.0) -> list[TimingProbe]:
    """Submit the warm-up job, then every size `repeats` times in an interleaved order (through
    a Dispatcher where budget, retries and the ledger apply)."""
    rng = np.random.default_rng(seed)
    _probe(provider, plan.ansatz, 1, min(plan.shots), rng, timeout_s)  # warm-up, not fitted
    order = [size for _ in range(plan.repeats) for size in plan.sizes()]
    probes = []
    with Bar("calibrate", len(order), "probe jobs") as bar:
        for circuits, shots in order:
            probes.append(_probe(provider, plan.ansatz, circuits, shots, rng, timeout_s))
            bar.advance(1, f"last {circuits} circuits x {shots} shots")
    return probes


def _probe(provider: Provider | Dispatcher, ansatz: HDQNNAnsatz, circuits: int, shots: int,
           rng: np.random.Generator, timeout_s: float) -> TimingProbe:
    request = ansatz.request(ansatz.random_controls(circuits, rng), shots=shots,
                             seed=int(rng.integers(2**31)))
    started = time.perf_counter()
    result = provider.submit(request).result(timeout_s=timeout_s)
    round_trip_s = time.perf_counter() - started
    return TimingProbe(circuits, shots, round_trip_s, result.timings.queue_s or 0.0)


def fit_timing(probes: list[TimingProbe]) -> TimingFit:
    """Non-negative least squares on the per-size means of round trip minus queue (a run's
    total over many jobs follows the mean, so the fit does too)."""
    sizes = sorted({(p.circuits, p.shots) for p in probes})
    target = np.array([np.mean([p.round_trip_s - p.queue_s for p in probes
                                  if (p.circuits, p.shots) == size]) for size in sizes])
    design = np.array([[1.0, c, c * s] for c, s in sizes])
    coef = _nonnegative_lstsq(design, target)
    residual = np.abs(design @ coef - target) / np.maximum(target, 1e-9)
    queues = np.array([p.queue_s for p in probes])
    return TimingFit(
        job_overhead_s=float(coef[0]), per_circuit_s=float(coef[1]), per_shot_s=float(coef[2]),
        queue_p5_s=float(np.percentile(queues, 5)), queue_p50_s=float(np.median(queues)),
        queue_p95_s=float(np.percentile(queues, 95)), queue_mean_s=float(queues.mean()),
        rel_residual=float(residual.max()),
        probes=len(probes))


def size_residuals(probes: list[TimingProbe], fit: TimingFit) -> list[dict]:
    """Per probe size: measured mean (round trip - queue), the fit's value, relative residual."""
    out = []
    for c, s in sorted({(p.circuits, p.shots) for p in probes}):
        measured = float(np.mean([p.round_trip_s - p.queue_s for p in probes
                                  if (p.circuits, p.shots) == (c, s)]))
        fitted = fit.job_overhead_s + fit.per_circuit_s * c + fit.per_shot_s * c * s
        out.append({"circuits": c, "shots": s, "measured_s": measured, "fitted_s": fitted,
                    "rel_residual": (fitted - measured) / max(measured, 1e-9)})
    return out


def _nonnegative_lstsq(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least squares with every coefficient >= 0: drop the most negative column and refit."""
    active = list(range(design.shape[1]))
    while True:
        coef = np.zeros(design.shape[1])
        coef[active] = np.linalg.lstsq(design[:, active], target, rcond=None)[0]
        if coef.min() >= 0 or len(active) == 1:
            return np.maximum(coef, 0.0)
        active.remove(int(np.argmin(coef)))


def calibrated(base: Calibration | None, fit: TimingFit, *, device: str, what: str,
               actors: tuple[float, int] = (0.0, 0)) -> Calibration:
    """The base snapshot (durations, errors, prices kept) with the fitted timing; `actors`:
    a distributed run's measured actor start-up (seconds, explorers), if probed."""
    timing = Timing(job_overhead_s=fit.job_overhead_s, per_circuit_s=fit.per_circuit_s,
                    per_shot_s=fit.per_shot_s, queue_p5_s=fit.queue_p5_s,
                    queue_p50_s=fit.queue_p50_s, queue_p95_s=fit.queue_p95_s,
                    queue_mean_s=fit.queue_mean_s, actors_start_s=actors[0],
                    actors_start_explorers=actors[1])
    source = (f"qhil calibrate: {fit.probes + 1} probe jobs (1 warm-up + {fit.probes} fitted) of "
              f"{what}; least-squares fit, "
              f"worst relative residual {fit.rel_residual:.1%}")
    if base is not None:
        source += f"; durations, errors and prices from: {base.source} ({base.date})"
    fields = base.model_dump() if base is not None else {"device": device}
    fields.update(source=source, date=dt.date.today().isoformat(), timing=timing.model_dump())
    return Calibration(**fields)


def write_calibration(calibration: Calibration, path: str | Path) -> Path:
    """Write a snapshot as TOML that `load_calibration` reads back to the same model."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, calibration_toml(calibration))
    return path


def calibration_toml(calibration: Calibration) -> str:
    return toml_text(calibration.model_dump())
