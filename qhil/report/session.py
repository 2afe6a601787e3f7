"""One comparison: every provider through the same probes, then the run-cost prediction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qhil.config import ProviderProfile
from qhil.execution.job import SamplingResult
from qhil.execution.provider import Provider
from qhil.report.measure import Settings, calibration_of, measure_provider
from qhil.report.model import Comparison, ProviderRow, RunRow
from qhil.report.predict import predict_provider
from qhil.report.probes import Probe, ProbeSize, build_probes
from qhil.report.runcost import predict_run_costs

RunJob = Callable[[Provider, Probe], SamplingResult]


@dataclass
class Plan:
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


def run_comparison(plan: Plan, run_job: RunJob, progress: Callable[[str], None]) -> Comparison:
    """Probe (or predict) every provider in turn; a failing one is a row, the others go on."""
    probes = build_probes(plan.size, plan.seed)
    settings = Settings(repeats=plan.repeats, timeout_s=plan.timeout_s, progress=progress)
    rows = []
    for profile in plan.profiles:
        progress(f"{profile.name}: {'predicting' if plan.dry_run else 'probing'}")
        row = (predict_provider(profile, probes) if plan.dry_run
               else measure_provider(profile, probes, settings, run_job))
        add_run_costs(row, profile, plan)
        progress(f"{profile.name}: {row.status}{': ' + row.reason if row.reason else ''}")
        rows.append(row)
    return Comparison(settings=settings_of(plan), providers=rows, runs=plan.runs,
                      generated_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))


def add_run_costs(row: ProviderRow, profile: ProviderProfile, plan: Plan) -> None:
    if plan.workload is None:
        row.run_cost_note = "no --config: no training-run prediction"
        return
    if not row.ok:
        return
    latency = None if plan.dry_run else row.latency
    row.run_costs, row.run_cost_note = predict_run_costs(
        plan.workload, profile, calibration_of(profile), latency)


def settings_of(plan: Plan) -> dict[str, object]:
    return {"providers": ",".join(p.name for p in plan.profiles), "qubits": plan.size.n_qubits,
            "layers": plan.size.n_layers, "batch": plan.size.batch, "shots": plan.size.shots,
            "repeats": plan.repeats, "dry_run": plan.dry_run, "seed": plan.seed,
            "config": str(plan.config_path) if plan.config_path else None}
