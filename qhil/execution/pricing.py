"""What a request costs on a device, from its calibration snapshot (prices never live in code).

    calibration_for(profile) -> Calibration | None      the profile's snapshot, cached by path
    request_cost_usd(calibration, request, tasks=1) -> Decimal
        per task + per shot + per billed second (QPU seconds, or minutes for managed simulators)
    tasks_for(profile, request) -> int                 jobs a request becomes (max circuits per job)
    job_cost_usd(profile, request) -> Decimal           the two above, for one profile

Billed seconds come from the calibration's timing when fitted (per-job overhead, per-circuit and
per-shot time), else from its gate, readout and reset durations; never below `min_billed_s`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from qhil.calibration import Calibration, Durations, load_calibration
from qhil.config import ProviderProfile
from qhil.quantum.request import SamplingRequest, timing_steps

if TYPE_CHECKING:
    from qhil.execution.provider import Provider
    from qhil.quantum.template import CircuitTemplate

NS = 1e-9


def calibration_for(profile: ProviderProfile) -> Calibration | None:
    """The profile's calibration snapshot, or None when it names none."""
    if not profile.calibration:
        return None
    return _load(profile.calibration)


@lru_cache(maxsize=64)
def _load(path: str) -> Calibration:
    return load_calibration(path)


def request_cost_usd(calibration: Calibration | None, request: SamplingRequest,
                     tasks: int = 1) -> Decimal:
    """Estimated price of running `request` as `tasks` provider jobs; zero without a snapshot."""
    if calibration is None:
        return Decimal(0)
    price = calibration.pricing
    cost = price.per_task_usd * tasks + price.per_shot_usd * request.total_shots
    if price.per_qpu_second_usd or price.per_minute_usd:
        billed_s = max(billed_seconds(calibration, request, tasks), price.min_billed_s * tasks)
        seconds = Decimal(repr(round(billed_s, 6)))
        cost += price.per_qpu_second_usd * seconds + price.per_minute_usd * seconds / 60
    return cost


def billed_seconds(calibration: Calibration, request: SamplingRequest, tasks: int = 1) -> float:
    """Device seconds the request occupies: fitted timing if present, else gate durations."""
    timing = calibration.timing
    shots = max(request.total_shots, request.batch_size)
    fitted = (timing.job_overhead_s * tasks + timing.per_circuit_s * request.batch_size
              + timing.per_shot_s * shots)
    if timing.per_shot_s > 0:
        return fitted
    return fitted + shot_duration_s(calibration, request) * shots


def shot_duration_s(calibration: Calibration, request: SamplingRequest) -> float:
    """Mean over rows of one shot of the row's circuit: its gates in series, then readout."""
    d = calibration.durations
    per_template = np.array([_circuit_ns(d, t) for t in request.templates])
    per_row = per_template[request.template_index]
    shot_ns = per_row[0] if (per_row == per_row[0]).all() else per_row.mean()
    return (float(shot_ns) + d.readout_ns + d.reset_ns) * NS


def _circuit_ns(durations: Durations, template: CircuitTemplate) -> float:
    """One template's gate time: per hDQNN layer RX then RY on every qubit in parallel, then
    its CZs (the hDQNN cost model's sum, term for term); else its single- and two-qubit steps."""
    layout = template.hdqnn_layout
    if layout is not None:
        pairs = layout.cz.shape[1]
        return layout.n_layers * (2 * durations.gate_1q_ns + pairs * durations.gate_2q_ns)
    one, two = timing_steps(template)
    return one * durations.gate_1q_ns + two * durations.gate_2q_ns


@dataclass(frozen=True)
class Quote:
    """A request validated for one device and priced once: its provider tasks and list dollars
    (`digest` names the request)."""

    digest: str
    tasks: int
    cost_usd: Decimal


def quote(provider: Provider, request: SamplingRequest, digest: str | None = None) -> Quote:
    """Validate the request on the provider's device (RequestValidationError) and price it."""
    provider.validate(request)
    return Quote(digest or request.digest(), tasks_for(provider.profile, request),
                 job_cost_usd(provider.profile, request))


def tasks_for(profile: ProviderProfile, request: SamplingRequest) -> int:
    """Provider jobs (tasks) the request is split into by the device's circuit limit."""
    return max(1, math.ceil(request.batch_size / profile.limits.max_circuits_per_job))


def job_cost_usd(profile: ProviderProfile, request: SamplingRequest) -> Decimal:
    """Estimated price of `request` on the profile's device."""
    return request_cost_usd(calibration_for(profile), request, tasks_for(profile, request))


def billed_cost_usd(calibration: Calibration | None, request: SamplingRequest, tasks: int,
                    usage: dict[str, float]) -> Decimal | None:
    """The price from provider-reported usage (`cost_usd`, or billed `qpu_s`), else None."""
    if "cost_usd" in usage:
        return Decimal(repr(usage["cost_usd"]))
    if calibration is None or "qpu_s" not in usage or not calibration.pricing.per_qpu_second_usd:
        return None
    price = calibration.pricing
    seconds = max(float(usage["qpu_s"]), price.min_billed_s * tasks)
    return (price.per_task_usd * tasks + price.per_shot_usd * request.total_shots
            + price.per_qpu_second_usd * Decimal(repr(round(seconds, 6))))


def bills(calibration: Calibration | None) -> bool:
    """Whether a device with this calibration snapshot charges anything (its pricing)."""
    if calibration is None:
        return False
    p = calibration.pricing
    return any((p.per_task_usd, p.per_shot_usd, p.per_qpu_second_usd, p.per_minute_usd))


def profile_bills(profile: ProviderProfile) -> bool:
    """Whether the profile's device charges per task, shot or second (then spending is asked)."""
    return bills(calibration_for(profile))
