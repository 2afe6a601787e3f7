"""One comparison: every provider through the same probes, then the run-cost prediction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qhil.config import ProviderProfile
from qhil.execution.budget import Budget
from qhil.execution.consent import Agreement
from qhil.report.measure import Settings, measure_provider
from qhil.report.metrics import shot_noise_fidelity
from qhil.report.model import Comparison, ProbeFigures, ProviderRow, RunRow
from qhil.report.predict import predict_provider
from qhil.report.probes import Probe, ProbeSize, build_probes
from qhil.report.runcost import predict_run_costs


@dataclass
class ComparisonPlan:
    """Everything a comparison needs, validated by the command before anything is spent."""

    profiles: list[ProviderProfile]
    size: ProbeSize
    repeats: int
    dry_run: bool
    timeout_s: float
    seed: int = 0
    config_path: Path | None = None
    workload: object | None = None
    runs: list[RunRow] = field(default_factory=list)
    budget: Budget | None = None
    circuit: object | None = None
    """The user's CircuitTemplate (`compare --circuit`), probed beside the built-in probes."""


def run_comparison(plan: ComparisonPlan, progress: Callable[[str], None],
                   confirm: Callable[[list[Probe]], Agreement | None]) -> Comparison:
    """Probe (or predict) every provider in turn; a failing one is a row, the others go on.
    `confirm(probes)` runs before the first job is sent: the command's consent and budget check
    (`qhil.execution.consent.agree`; it may raise), whose Agreement every provider opens with."""
    probes = build_probes(plan.size, plan.seed, plan.circuit)
    agreement = None if plan.dry_run else confirm(probes)
    settings = Settings(repeats=plan.repeats, timeout_s=plan.timeout_s, budget=plan.budget,
                        progress=progress, agreement=agreement)
    rows = []
    for profile in plan.profiles:
        progress(f"{profile.name}: {'predicting' if plan.dry_run else 'probing'}")
        row = (predict_provider(profile, probes) if plan.dry_run
               else measure_provider(profile, probes, settings))
        add_run_costs(row, profile, plan)
        progress(f"{profile.name}: {row.status}{': ' + row.reason if row.reason else ''}")
        rows.append(row)
    return Comparison(settings=settings_of(plan), providers=rows, runs=plan.runs,
                      generated_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                      shot_noise_floor=shot_noise_floor(probes, plan.seed))


def shot_noise_floor(probes: list[Probe], seed: int) -> list[ProbeFigures]:
    """Each probe sampled ideally at its shot count (seeded): the floor of the fidelity table."""
    rng = np.random.default_rng(seed)
    out = []
    for probe in probes:
        fid = shot_noise_fidelity(probe.ideal, probe.request.shots or 1, rng)
        out.append(ProbeFigures(probe.name, 1, probe.request.batch_size,
                                probe.request.total_shots, fid.hellinger_fidelity, fid.tvd,
                                fid.marginal_mae))
    return out


def add_run_costs(row: ProviderRow, profile: ProviderProfile, plan: ComparisonPlan) -> None:
    if plan.workload is None:
        row.run_cost_note = "no --config: no training-run prediction"
        return
    if not row.ok:
        return
    latency = None if plan.dry_run else row.latency
    row.run_costs, row.run_cost_note = predict_run_costs(plan.workload, profile, latency)


def settings_of(plan: ComparisonPlan) -> dict[str, object]:
    return {"providers": ",".join(p.name for p in plan.profiles), "qubits": plan.size.n_qubits,
            "layers": plan.size.n_layers, "batch": plan.size.batch, "shots": plan.size.shots,
            "repeats": plan.repeats, "dry_run": plan.dry_run, "seed": plan.seed,
            "config": str(plan.config_path) if plan.config_path else None}
