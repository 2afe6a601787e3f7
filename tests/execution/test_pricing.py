"""Prices from calibration snapshots: per task, per shot, per billed second."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qhil.calibration import Calibration, Durations, Pricing, Timing
from qhil.config import Limits, ProviderProfile
from qhil.execution.pricing import (
    billed_cost_usd,
    billed_seconds,
    calibration_for,
    job_cost_usd,
    request_cost_usd,
    tasks_for,
)
from tests.execution.helpers import small_request


def snapshot(**pricing) -> Calibration:
    return Calibration(device="d", source="test", date="2026-11-22",
                       durations=Durations(gate_1q_ns=50, gate_2q_ns=500, readout_ns=1000,
                                           reset_ns=250_000),
                       timing=Timing(job_overhead_s=2.0), pricing=Pricing(**pricing))


def test_no_snapshot_is_free(rng):
    assert request_cost_usd(None, small_request(rng)) == Decimal(0)


def test_braket_style_task_plus_shot(rng):
    cal = snapshot(model="per-shot", per_task_usd=Decimal("0.30"), per_shot_usd=Decimal("0.00145"))
    request = small_request(rng, batch=4, shots=100)
    assert request_cost_usd(cal, request) == Decimal("0.30") + Decimal("0.00145") * 400
    assert request_cost_usd(cal, request, tasks=3) == Decimal("0.90") + Decimal("0.58")


def test_per_qpu_second_uses_durations_and_overhead(rng):
    cal = snapshot(model="per-qpu-second", per_qpu_second_usd=Decimal("1.60"))
    request = small_request(rng, batch=4, shots=1000)  # 2 layers, 1 CZ pair per layer
    shot_s = (2 * (2 * 50 + 500) + 1000 + 250_000) * 1e-9
    assert billed_seconds(cal, request) == pytest.approx(2.0 + 4000 * shot_s)
    expected = Decimal("1.60") * Decimal(repr(round(2.0 + 4000 * shot_s, 6)))
    assert request_cost_usd(cal, request) == expected


def test_minimum_billed_time_per_task(rng):
    cal = snapshot(model="per-minute", per_minute_usd=Decimal("0.075"), min_billed_s=3.0)
    cal = cal.model_copy(update={"timing": Timing(), "durations": Durations()})
    assert request_cost_usd(cal, small_request(rng)) == Decimal("0.075") * 3 / 60


def test_usage_reported_by_the_provider_overrides_the_estimate(rng):
    cal = snapshot(model="per-qpu-second", per_qpu_second_usd=Decimal("1.60"), min_billed_s=1.0)
    request = small_request(rng)
    assert billed_cost_usd(cal, request, 1, {"qpu_s": 2.5}) == Decimal("4.0")
    assert billed_cost_usd(cal, request, 1, {"qpu_s": 0.0}) == Decimal("1.6")
    assert billed_cost_usd(cal, request, 1, {"cost_usd": 0.25}) == Decimal("0.25")
    assert billed_cost_usd(cal, request, 1, {}) is None


def test_profile_helpers(rng):
    profile = ProviderProfile(name="p", kind="chaos", calibration="calibration/chaos-priced.toml",
                              limits=Limits(max_qubits=8, max_circuits_per_job=3))
    request = small_request(rng, batch=7, shots=10)
    assert tasks_for(profile, request) == 3
    assert calibration_for(profile).pricing.per_task_usd == Decimal("0.30")
    assert job_cost_usd(profile, request) == Decimal("0.90") + Decimal("0.00145") * 70
    assert calibration_for(profile.model_copy(update={"calibration": None})) is None
