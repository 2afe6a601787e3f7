"""A sweep's results, read from its run folders (each run's config.toml, summary.json and
metrics.jsonl are the record; Tune's own files are not read): trials grouped into cells by their
swept values, and each metric's mean, 95% confidence interval (Student's t) and seed count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qhil.files import read_jsonl
from qhil.rl.config import load_train_config
from qhil.rl.summary import RunSummary
from qhil.sweep.plan import SweepFolder, text_of, value_at

RETURN = "charts/episodic_return"
LAST_EPISODES = 10
METRICS = {  # name in the tables and report.json -> what it reads from a finished run
    "eval_return_mean": lambda t: t.summary.eval_return_mean,
    "train_return_last10": lambda t: t.last_returns(),
    "wall_s": lambda t: t.summary.wall_s,
    "hw_jobs": lambda t: t.summary.hw.jobs,
    "hw_shots": lambda t: t.summary.hw.shots,
    "hw_cost_usd": lambda t: t.summary.hw.cost_usd,
}


@dataclass(frozen=True)
class TrialRun:
    """One trial's run folder: its swept values, seed, summary (None: not finished) and curve."""

    path: Path
    values: tuple[tuple[str, str], ...]
    seed: int
    summary: RunSummary | None
    curve: list[tuple[int, float]]

    def last_returns(self) -> float | None:
        tail = [r for _, r in self.curve[-LAST_EPISODES:]]
        return sum(tail) / len(tail) if tail else None


@dataclass(frozen=True)
class Interval:
    """A metric over a cell's seeds: mean, 95% confidence interval (None below 2 seeds), n."""

    mean: float | None
    low: float | None
    high: float | None
    n: int

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "ci95_low": self.low, "ci95_high": self.high, "seeds": self.n}


def interval(values: list[float]) -> Interval:
    from scipy import stats

    n = len(values)
    if n == 0:
        return Interval(None, None, None, 0)
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, None, None, 1)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def load_trials(folder: SweepFolder, keys: list[str]) -> list[TrialRun]:
    """Every run folder of the sweep that holds a config (started trials)."""
    paths = sorted(p for p in folder.runs.glob("*") if (p / "config.toml").is_file())
    return [load_trial(p, keys) for p in paths]


def load_trial(path: Path, keys: list[str]) -> TrialRun:
    config = load_train_config(path / "config.toml")
    summary_path = path / "summary.json"
    summary = RunSummary.read(summary_path) if summary_path.is_file() else None
    rows = read_jsonl(path / "metrics.jsonl") if (path / "metrics.jsonl").is_file() else []
    curve = [(int(r["step"]), float(r[RETURN])) for r in rows if r.get(RETURN) is not None]
    values = tuple((k, text_of(value_at(config, k))) for k in keys)
    return TrialRun(path, values, config.seed, summary, curve)


def cells(trials: list[TrialRun]) -> dict[tuple[tuple[str, str], ...], list[TrialRun]]:
    """Trials grouped by their swept values, in the order first seen."""
    groups: dict[tuple[tuple[str, str], ...], list[TrialRun]] = {}
    for trial in trials:
        groups.setdefault(trial.values, []).append(trial)
    return groups


def metric_intervals(trials: list[TrialRun]) -> dict[str, Interval]:
    """Each metric over a cell's finished trials (those with a summary)."""
    done = [t for t in trials if t.summary is not None]
    return {name: interval([float(v) for t in done if (v := read(t)) is not None])
            for name, read in METRICS.items()}
