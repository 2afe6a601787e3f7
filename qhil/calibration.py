"""Device calibration snapshots (calibration/*.toml): durations, error rates, timing, prices.

Each snapshot names its source and date; prices live here, never in code. Money is Decimal.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field, ValidationError

from qhil.config import StrictModel, load_toml, resolve_path, validation_message
from qhil.errors import ConfigError


class Durations(StrictModel):
    """Native operation durations."""

    gate_1q_ns: float = Field(0.0, description="One single-qubit gate.", ge=0)
    gate_2q_ns: float = Field(0.0, description="One two-qubit gate.", ge=0)
    readout_ns: float = Field(0.0, description="Measurement of all qubits.", ge=0)
    reset_ns: float = Field(0.0, description="Reset / repetition delay between shots.", ge=0)
    depth_factor: float = Field(
        1.0, description="Transpiled / logical depth of the hDQNN ansatz on this device.", gt=0)


class ErrorRates(StrictModel):
    """Average error rates; the embedded simulator's noise model is built from these."""

    gate_1q: float = Field(0.0, description="Single-qubit gate error.", ge=0, le=1)
    gate_2q: float = Field(0.0, description="Two-qubit gate error.", ge=0, le=1)
    readout_p01: float = Field(0.0, description="P(read 1 | prepared 0).", ge=0, le=1)
    readout_p10: float = Field(0.0, description="P(read 0 | prepared 1).", ge=0, le=1)


class Timing(StrictModel):
    """Service-side latencies beyond the circuits themselves."""

    job_overhead_s: float = Field(0.0, description="Fixed time per job (compile, load, return).", ge=0)
    per_circuit_s: float = Field(0.0, description="Extra time per circuit in a job.", ge=0)
    per_shot_s: float = Field(0.0, description="Measured time per shot, if fitted.", ge=0)
    queue_p5_s: float = Field(0.0, description="5th percentile queue wait (the low band).", ge=0)
    queue_p50_s: float = Field(0.0, description="Median queue wait.", ge=0)
    queue_mean_s: float = Field(
        0.0, description="Mean queue wait; when set, the typical time of many jobs uses it.", ge=0)
    queue_p95_s: float = Field(0.0, description="95th percentile queue wait.", ge=0)
    actors_start_s: float = Field(
        0.0, description="Seconds a distributed run's evaluation and explorer actors take to "
        "start on the calibrating machine, Ray already up (`qhil calibrate --explorers N`); "
        "added once to a run's wall time.", ge=0)
    actors_start_explorers: int = Field(
        0, description="The explorer count actors_start_s was measured with (0: not measured).",
        ge=0)


class Pricing(StrictModel):
    """How the device bills. Zero everywhere means free."""

    model: str = Field("free", description="free, per-shot, per-qpu-second or session.")
    per_task_usd: Decimal = Field(Decimal(0), description="Fee per task / job.", ge=0)
    per_shot_usd: Decimal = Field(Decimal(0), description="Fee per shot.", ge=0)
    per_qpu_second_usd: Decimal = Field(Decimal(0), description="Fee per billed QPU second.", ge=0)
    per_minute_usd: Decimal = Field(Decimal(0), description="Fee per minute (simulators, sessions).", ge=0)
    min_billed_s: float = Field(0.0, description="Minimum billed time per task.", ge=0)


class Calibration(StrictModel):
    """One device snapshot, with where its numbers came from."""

    device: str = Field(description="Device the snapshot describes.")
    source: str = Field(description="Where the numbers come from (URL, SDK, measurement).")
    date: str = Field(description="When they were taken (YYYY-MM-DD).")
    durations: Durations = Field(default_factory=Durations, description="Operation durations.")
    errors: ErrorRates = Field(default_factory=ErrorRates, description="Error rates.")
    timing: Timing = Field(default_factory=Timing, description="Service latencies.")
    pricing: Pricing = Field(default_factory=Pricing, description="Prices.")


def load_calibration(path: str | Path) -> Calibration:
    """Load a calibration snapshot; errors name the file and field."""
    path = resolve_path(str(path))
    try:
        return Calibration(**load_toml(path))
    except ValidationError as exc:
        raise ConfigError(validation_message(path, exc)) from None
