"""Typed report objects: one row per provider, the run rows, and the JSON form of the whole."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MEASURED, PREDICTED, UNAVAILABLE, FAILED = "measured", "predicted", "unavailable", "failed"


@dataclass(frozen=True)
class LatencySummary:
    """p50 / p95 of per-job latencies in seconds; the raw round trips feed the plot.

    overhead = round trip - the calibration's predicted device time of the job: what a job
    costs in time beyond its circuits (queue, compilation, transfer, a simulator's own run time);
    the cost model takes it as the measured per-job latency.
    """

    queue_s_p50: float | None
    queue_s_p95: float | None
    execution_s_p50: float | None
    execution_s_p95: float | None
    round_trip_s_p50: float | None
    round_trip_s_p95: float | None
    round_trip_s: list[float] = field(default_factory=list)
    overhead_s_p50: float | None = None
    overhead_s_p95: float | None = None


@dataclass(frozen=True)
class ProbeFigures:
    """One probe on one provider, averaged over its repeats."""

    probe: str
    jobs: int
    circuits: int
    shots: int
    hellinger_fidelity: float | None
    tvd: float | None
    marginal_mae: float | None


@dataclass(frozen=True)
class RunCost:
    """The configured training run on this provider by one gradient method."""

    method: str
    wall_s: float
    cost_usd: Decimal
    qpu_s: float | None = None
    jobs: int | None = None
    shots: int | None = None


@dataclass
class ProviderRow:
    """Everything the comparison found out about one provider."""

    name: str
    kind: str = ""
    device: str = ""
    status: str = MEASURED
    reason: str = ""
    calibration: str = ""
    latency: LatencySummary | None = None
    circuits_per_s: float | None = None
    shots_per_s: float | None = None
    probes: list[ProbeFigures] = field(default_factory=list)
    cost_per_1k_shots_usd: Decimal | None = None
    probe_cost_usd: Decimal = Decimal(0)
    run_costs: list[RunCost] = field(default_factory=list)
    run_cost_note: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (MEASURED, PREDICTED)

    def mean(self, key: str) -> float | None:
        """Mean of a fidelity figure over the probes that have it."""
        values = [getattr(p, key) for p in self.probes if getattr(p, key) is not None]
        return sum(values) / len(values) if values else None

    def run_cost(self, method: str) -> RunCost | None:
        return next((c for c in self.run_costs if c.method == method), None)


@dataclass(frozen=True)
class RunRow:
    """A finished training run (--runs): its return and what it cost."""

    path: str
    provider: str
    eval_return_mean: float | None
    cost_usd: float | None
    wall_s: float | None
    return_per_usd: float | None
    return_per_hour: float | None
    note: str = ""


@dataclass
class Comparison:
    """The whole report: settings, provider rows, run rows.

    shot_noise_floor: the fidelity figures of an ideal sampler at the same shot count, the best
    any device can score (finite shots alone keep Hellinger below 1 and TVD above 0).
    """

    settings: dict[str, Any]
    providers: list[ProviderRow]
    runs: list[RunRow] = field(default_factory=list)
    generated_at: str = ""
    shot_noise_floor: list[ProbeFigures] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; money as strings of Decimal."""
        data = _plain(dataclasses.asdict(self))
        for row, obj in zip(data["providers"], self.providers, strict=True):
            for key in ("hellinger_fidelity", "tvd", "marginal_mae"):
                row[f"{key}_mean"] = obj.mean(key)
        return data


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
