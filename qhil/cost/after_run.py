"""`qhil estimate --from-run DIR`: the prediction set beside what a finished run measured.

    report = report_run(run_dir, workload, device)   (commands/estimate.py parses and prints)

Reads DIR/config.toml (the resolved training config), DIR/summary.json (how far the run got)
and DIR/ledger.sqlite, with a distributed run's ledger-explorer-K.sqlite and ledger-eval.sqlite
(what it bought and how long jobs took), and predicts the same run twice: from the provider's
calibration, and with the latencies the ledgers measured.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from qhil.cost.device import DeviceModel, LatencyStats
from qhil.cost.model import MethodEstimate, estimate, money_text
from qhil.cost.report import human_s, usd
from qhil.cost.workload import Workload
from qhil.errors import ConfigError
from qhil.files import read_jsonl
from qhil.rl.summary import RunSummary

BY_METHOD = ("qtdnn", "parameter-shift")  # the same run priced per method (--method all)


@dataclass(frozen=True)
class Measured:
    """What the ledger (and summary) say the run used."""

    jobs: int
    circuits: int
    shots: int
    cost_usd: Decimal
    jobs_s: float | None
    span_s: float | None
    wall_s: float | None
    latency: LatencyStats | None

    def to_json(self) -> dict[str, Any]:
        return {"jobs": self.jobs, "circuits": self.circuits, "shots": self.shots,
                "cost_usd": money_text(self.cost_usd), "jobs_s": self.jobs_s,
                "span_s": self.span_s, "wall_s": self.wall_s,
                "round_trip_p50_s": self.latency.p50_s if self.latency else None,
                "round_trip_p95_s": self.latency.p95_s if self.latency else None}


def run_config(run_dir: Path) -> Path:
    """The run folder's resolved training config; a folder without one is a ConfigError."""
    config = Path(run_dir) / "config.toml"
    if not config.is_file():
        raise ConfigError(f"{run_dir} is not a run folder: no config.toml in it "
                          f"(pass the --out DIR of a `qhil train` run)")
    return config


def report_run(run_dir: Path, workload: Workload, device: DeviceModel,
               by_method: bool = False) -> dict[str, Any]:
    """The planned `workload`, cut to what the run did, predicted on `device` beside what its
    ledger measured (the ledger is read through `Ledger`); `by_method`: the same run priced per
    gradient method too (`report["by_method"]`)."""
    run_dir = Path(run_dir)
    summary = read_summary(run_dir / "summary.json")
    done = done_workload(run_dir, workload)
    config = run_config(run_dir)
    report = compare(done, device, measure(run_dir, summary), run_gradient(config))
    hint = calibration_hint(report, config)
    if hint:
        report["hint"] = hint
    if by_method:
        priced = by_method_estimate(run_dir, workload, device)
        report["by_method"] = {m: e.to_json() for m, e in priced.methods.items()}
    return report


def done_workload(run_dir: Path, workload: Workload) -> Workload:
    """The planned workload cut to the steps, updates and evaluations the run did."""
    summary = read_summary(Path(run_dir) / "summary.json")
    return workload_done(workload, summary, count_evaluations(Path(run_dir) / "metrics.jsonl"))


def by_method_estimate(run_dir: Path, workload: Workload, device: DeviceModel):
    """What the run would have cost with each gradient method (`BY_METHOD`)."""
    return estimate(done_workload(run_dir, workload), device, methods=BY_METHOD)


def calibration_hint(report: dict[str, Any], config: Path) -> str | None:
    """A device with no timing data predicts 0 s: say how to calibrate instead."""
    if report["predicted"]["wall_s"] > 0 or not report["measured"].get("jobs_s"):
        return None
    name = report["device"] or "NAME"
    return (f"{name} has no timing calibration, so the time predictions are 0 s: measure it with "
            f"'qhil calibrate --provider {name} --config {config} --out {name}-measured.toml', "
            f"then pass --calibration {name}-measured.toml")


def run_gradient(config: Path) -> str:
    """The gradient method the run trained with (its TrainConfig; qtdnn for classical blocks)."""
    from qhil.rl.config import load_train_config

    train = load_train_config(config)
    return train.quantum.gradient if train.block == "pqc" else "qtdnn"


def read_summary(path: Path) -> RunSummary:
    """The run's summary; an empty one for a run that never finished (no summary.json)."""
    return RunSummary.read(path) if path.is_file() else RunSummary()


def count_evaluations(path: Path) -> int | None:
    """Evaluations a run logged (metrics.jsonl rows with an evaluation return), None unknown."""
    if not path.is_file():
        return None
    return sum("eval/return_mean" in row for row in read_jsonl(path))


def workload_done(workload: Workload, summary: RunSummary,
                  evaluations: int | None = None) -> Workload:
    """The planned workload cut to the steps, updates and evaluations the run did."""
    steps, updates = summary.steps, summary.updates
    changes: dict[str, int] = {}
    if evaluations is not None:
        changes["eval_episodes"] = min(workload.eval_episodes, evaluations * workload.eval_batch)
    if steps is not None:
        changes["env_steps"] = min(workload.env_steps, -(-int(steps) // workload.num_envs))
    if updates is not None:
        changes["updates"] = int(updates)
    return replace(workload, **changes)


def measure(run_dir: Path, summary: RunSummary) -> Measured:
    """Totals and latencies from the run's ledgers (ledger.sqlite, and a distributed run's
    ledger-explorer-K.sqlite and ledger-eval.sqlite); wall time from the summary if it has one."""
    ledger_path = run_dir / "ledger.sqlite"
    if not ledger_path.is_file():
        raise ConfigError(f"{run_dir}: no ledger.sqlite; the run recorded no jobs")
    paths = [ledger_path, *sorted(run_dir.glob("ledger-*.sqlite"))]
    parts = [measure_ledger(path) for path in paths]
    busiest = max(parts, key=lambda m: m.jobs)  # its latency is the typical job's
    return Measured(sum(m.jobs for m in parts), sum(m.circuits for m in parts),
                    sum(m.shots for m in parts), sum((m.cost_usd for m in parts), Decimal(0)),
                    _total([m.jobs_s for m in parts]), _total([m.span_s for m in parts], max),
                    summary.wall_s, busiest.latency)


def _total(values, combine=sum) -> float | None:
    known = [v for v in values if v is not None]
    return combine(known) if known else None


def measure_ledger(ledger_path: Path) -> Measured:
    """One ledger's totals and latencies."""
    from qhil.execution.ledger import Ledger
    from qhil.paths import check_ledger_file

    check_ledger_file(ledger_path, "the run's ledger")

    with Ledger(ledger_path) as ledger:
        totals, stats = ledger.totals(), ledger.latency_stats()
        jobs_s, span_s = ledger.job_times()
    latency = None
    if stats.round_trip_s.p50 is not None and totals.jobs:
        latency = LatencyStats(stats.round_trip_s.p50, stats.round_trip_s.p95,
                               circuits=max(1, round(totals.circuits / totals.jobs)),
                               shots=max(1, round(totals.shots / max(1, totals.circuits))),
                               mean_s=None if jobs_s is None else jobs_s / stats.jobs)
    return Measured(totals.jobs, totals.circuits, totals.shots, totals.cost_usd, jobs_s, span_s,
                    None, latency)


def compare(workload: Workload, device: DeviceModel, measured: Measured,
            method: str = "qtdnn") -> dict[str, Any]:
    """Prediction (calibration), prediction with measured latency, measurement, and ratios,
    for the gradient method the run used."""
    predicted = estimate(workload, device, methods=(method,)).methods[method]
    report: dict[str, Any] = {"workload": workload.to_json(), "device": device.name,
                              "method": method, "predicted": _brief(predicted),
                              "measured": measured.to_json()}
    if measured.latency is not None:
        with_latency = estimate(workload, device, (method,), latency=measured.latency)
        report["predicted_with_measured_latency"] = _brief(with_latency.methods[method])
    report["ratios"] = _ratios(report, measured)
    return report


def _brief(m: MethodEstimate) -> dict[str, Any]:
    return {"circuits": m.circuits, "shots": m.shots, "jobs": m.jobs, "qpu_s": m.qpu_s,
            "wall_s": m.wall_s, "wall_s_low": m.wall_s_low, "wall_s_high": m.wall_s_high,
            "cost_usd": money_text(m.cost_usd)}


def _ratios(report: dict[str, Any], measured: Measured) -> dict[str, float | None]:
    """Predicted / measured for each figure the ledger measured. The model counts time in
    sampling jobs only, so `jobs_s` (the sum of the jobs' round trips) is its measure; the run's
    wall clock (`wall_s`) also holds environment and learner time."""
    p = report["predicted"]
    pairs = {"jobs": (p["jobs"], measured.jobs), "circuits": (p["circuits"], measured.circuits),
             "shots": (p["shots"], measured.shots),
             "cost_usd": (float(p["cost_usd"]), float(measured.cost_usd)),
             "jobs_s": (p["wall_s"], measured.jobs_s), "wall_s": (p["wall_s"], measured.wall_s)}
    if "predicted_with_measured_latency" in report:
        q = report["predicted_with_measured_latency"]["wall_s"]
        pairs["jobs_s_with_measured_latency"] = (q, measured.jobs_s)
    return {k: (None if not b else a / b) for k, (a, b) in pairs.items()}


def table(report: dict[str, Any]) -> str:
    """Prediction beside measurement, one row per figure."""
    p, m, r = report["predicted"], report["measured"], report["ratios"]
    rows = [("jobs", f"{p['jobs']:,}", f"{m['jobs']:,}", r["jobs"]),
            ("circuits", f"{p['circuits']:,}", f"{m['circuits']:,}", r["circuits"]),
            ("shots", f"{p['shots']:,}", f"{m['shots']:,}", r["shots"]),
            ("cost", usd(Decimal(p["cost_usd"])), usd(Decimal(m["cost_usd"])), r["cost_usd"]),
            ("time in jobs", human_s(p["wall_s"]), _s(m["jobs_s"]), r["jobs_s"])]
    if "predicted_with_measured_latency" in report:
        q = report["predicted_with_measured_latency"]
        rows.append(("  with measured latency", human_s(q["wall_s"]), _s(m["jobs_s"]),
                     r["jobs_s_with_measured_latency"]))
    rows.append(("run wall clock", human_s(p["wall_s"]), _s(m["wall_s"]), r["wall_s"]))
    lines = [f"run on {report['device']}: predicted beside measured (ledger)",
             f"{'figure':<24}{'predicted':>16}{'measured':>16}{'pred/meas':>12}"]
    lines += [f"{name:<24}{a:>16}{b:>16}{'-' if x is None else f'{x:.3f}':>12}"
              for name, a, b, x in rows]
    if report.get("hint"):
        lines.append(f"note: {report['hint']}")
    return "\n".join(lines)


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else human_s(seconds)


