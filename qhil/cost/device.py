"""What the quantum processor charges in time and money: the `DeviceModel` half of the cost model.

Every number comes from a calibration snapshot (calibration/*.toml) and the profile's limits,
or from command-line flags; none is written in code. `LatencyStats` carries measured per-job
latencies (from a ledger or a probe run) that replace the snapshot's overhead and queue figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from qhil.calibration import Calibration, Pricing, load_calibration
from qhil.config import Limits, ProviderProfile

BANDS = ("low", "typical", "high")


@dataclass(frozen=True)
class LatencyStats:
    """Measured per-job round trips (submission to result): p5 / p50 / p95 give the low /
    typical / high band (p5 defaults to p50); a mean, when given, is the typical figure (the
    sum over many jobs follows the mean). When the measured jobs' shape is given
    (`circuits` per job, `shots` per circuit), the model's execution time for that shape is
    taken out and its own execution time is added back for each job it predicts; without a
    shape the round trip is taken as latency on top of the modelled execution.
    """

    p50_s: float
    p95_s: float
    p5_s: float | None = None
    circuits: int | None = None
    shots: int | None = None
    mean_s: float | None = None

    def band(self, which: str) -> float:
        return {"low": self.p5_s if self.p5_s is not None else self.p50_s,
                "typical": self.mean_s if self.mean_s is not None else self.p50_s,
                "high": self.p95_s}[which]

    @classmethod
    def coerce(cls, stats: Any) -> LatencyStats:
        """Accept a LatencyStats, a dict or any object with p50/p95 figures (ledger stats)."""
        if isinstance(stats, LatencyStats):
            return stats
        if getattr(stats, "round_trip_s", None) is not None:  # the ledger's JobLatencies
            stats = stats.round_trip_s
        get = stats.get if isinstance(stats, dict) else (lambda k: getattr(stats, k, None))
        p50, p95, p5, mean = (_first(get, q) for q in ("p50", "p95", "p5", "mean"))
        if p50 is None:
            raise ValueError(f"latency stats need a p50 figure, got {stats!r}")
        circuits, shots = get("circuits"), get("shots")
        return cls(p50_s=float(p50), p95_s=float(p95 if p95 is not None else p50),
                   p5_s=None if p5 is None else float(p5),
                   circuits=None if circuits is None else int(circuits),
                   shots=None if shots is None else int(shots),
                   mean_s=None if mean is None else float(mean))


def _first(get: Any, quantile: str) -> Any:
    for key in (f"{quantile}_s", f"round_trip_{quantile}_s", f"latency_{quantile}_s", quantile):
        value = get(key)
        if value is not None:
            return value
    return None


@dataclass(frozen=True)
class DeviceModel:
    """Durations, service latencies, job limits and prices of one device.

    Attributes:
        name: the device or profile name.
        gate_1q_ns, gate_2q_ns, readout_ns, reset_ns: native durations (reset = repetition delay).
        depth_factor: transpiled depth / logical depth of the hDQNN ansatz on this device.
        job_overhead_s: fixed time per job (compile, load, return), outside the queue.
        per_circuit_s: device time per circuit in a job (loading, binding).
        per_shot_s: measured time per shot; when > 0 it replaces the durations' shot time.
        queue_p5_s, queue_p50_s, queue_p95_s: queue wait per job, the low/typical/high band.
        queue_mean_s: mean queue wait; when > 0 the typical band uses it (a run's total
            over many jobs follows the mean, not the median).
        max_circuits_per_job: circuits one job may carry (None: no limit).
        max_shots_per_job: circuits x shots one job may carry (None: no limit).
        max_jobs_in_flight: jobs of one learner update that may wait in the queue together.
        pricing: how the device bills (calibration snapshot's [pricing]).
        actors_start_s: seconds a distributed run's actors take to start before its first job
            (measured by `qhil calibrate --explorers N`); added once to the run's wall time.
        measured_latency_s: per-job latency by band measured elsewhere (`with_latency`); when
            set it replaces overhead + queue in the wall time (billing keeps the overhead).
    """

    name: str = "flags"
    gate_1q_ns: float = 0.0
    gate_2q_ns: float = 0.0
    readout_ns: float = 0.0
    reset_ns: float = 0.0
    depth_factor: float = 1.0
    job_overhead_s: float = 0.0
    per_circuit_s: float = 0.0
    per_shot_s: float = 0.0
    queue_p5_s: float = 0.0
    queue_p50_s: float = 0.0
    queue_p95_s: float = 0.0
    queue_mean_s: float = 0.0
    max_circuits_per_job: int | None = None
    max_shots_per_job: int | None = None
    max_jobs_in_flight: int = 1
    pricing: Pricing = field(default_factory=Pricing)
    actors_start_s: float = 0.0
    measured_latency_s: dict[str, float] | None = None

    @classmethod
    def from_calibration(cls, calibration: Calibration, limits: Limits | None = None,
                         *, name: str | None = None, max_jobs_in_flight: int = 1) -> DeviceModel:
        """The model of a calibration snapshot, capped by a profile's limits where given."""
        d, t = calibration.durations, calibration.timing
        return cls(
            name=name or calibration.device, gate_1q_ns=d.gate_1q_ns, gate_2q_ns=d.gate_2q_ns,
            readout_ns=d.readout_ns, reset_ns=d.reset_ns,
            depth_factor=d.depth_factor, job_overhead_s=t.job_overhead_s,
            per_circuit_s=t.per_circuit_s, per_shot_s=t.per_shot_s,
            queue_p5_s=t.queue_p5_s, queue_p50_s=t.queue_p50_s,
            queue_p95_s=t.queue_p95_s, queue_mean_s=t.queue_mean_s, pricing=calibration.pricing,
            actors_start_s=t.actors_start_s,
            max_jobs_in_flight=max_jobs_in_flight, **_limit_fields(limits))

    @classmethod
    def from_profile(cls, profile: ProviderProfile) -> DeviceModel:
        """A provider profile's model: its calibration snapshot (if any) and its limits."""
        if profile.calibration is None:
            model = cls(name=profile.name, max_jobs_in_flight=profile.max_jobs_in_flight,
                        **_limit_fields(profile.limits))
        else:
            model = cls.from_calibration(load_calibration(profile.calibration), profile.limits,
                                         name=profile.name,
                                         max_jobs_in_flight=profile.max_jobs_in_flight)
        shots = next((profile.options[k] for k in _SHOTS_OPTIONS if k in profile.options), None)
        return model if shots is None else replace(model, max_shots_per_job=int(shots))

    @property
    def charges(self) -> bool:
        """Whether the device bills anything (then `qhil train` asks before spending)."""
        p = self.pricing
        return any(v > 0 for v in (p.per_task_usd, p.per_shot_usd, p.per_qpu_second_usd,
                                   p.per_minute_usd))

    def with_overrides(self, **changes: Any) -> DeviceModel:
        """A copy with the given fields replaced; None values are ignored. Pricing keys
        (per_task_usd, per_shot_usd, per_qpu_second_usd, per_minute_usd, model) go to pricing."""
        given = {k: v for k, v in changes.items() if v is not None}
        price_keys = set(Pricing.model_fields) & set(given)
        prices = {k: given.pop(k) for k in price_keys}
        return replace(self, pricing=Pricing(**{**self.pricing.model_dump(), **prices}), **given)

    def with_latency(self, stats: Any, execution_s: float = 0.0) -> DeviceModel:
        """Measured per-job round trips in place of the snapshot's overhead and queue band;
        `execution_s` (the modelled execution of the measured jobs) is taken out of them."""
        s = LatencyStats.coerce(stats)
        return replace(self, measured_latency_s={b: max(0.0, s.band(b) - execution_s)
                                                 for b in BANDS})

    def job_latency_s(self, band: str) -> float:
        """Per-job time outside execution, for the low / typical / high band."""
        if self.measured_latency_s is not None:
            return self.measured_latency_s[band]
        typical = self.queue_mean_s if self.queue_mean_s > 0 else self.queue_p50_s
        queue = {"low": self.queue_p5_s, "typical": typical, "high": self.queue_p95_s}
        return self.job_overhead_s + queue[band]

    def circuits_per_job(self, shots: int) -> int | None:
        """Most circuits of `shots` shots one job can carry (None: unlimited)."""
        caps = [c for c in (self.max_circuits_per_job,
                            None if self.max_shots_per_job is None
                            else self.max_shots_per_job // shots) if c is not None]
        return max(1, min(caps)) if caps else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pricing"] = self.pricing.model_dump(mode="json")
        return data


_SHOTS_OPTIONS = ("max_executions", "max_total_shots", "max_shots_per_job")  # adapter options


def _limit_fields(limits: Limits | None) -> dict[str, Any]:
    """Job limits of a profile; `max_shots_per_job` only where the profile model has one."""
    if limits is None:
        return {}
    shots = next((getattr(limits, k) for k in ("max_shots_per_job", "max_total_shots",
                                               "max_executions_per_job")
                  if getattr(limits, k, None) is not None), None)
    return {"max_circuits_per_job": limits.max_circuits_per_job, "max_shots_per_job": shots}
