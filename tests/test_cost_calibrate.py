"""The calibration fit and its snapshot file, without timing anything real."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qhil.calibration import Calibration, Pricing, load_calibration
from qhil.cost import DeviceModel
from qhil.cost.calibrate import (
    ProbePlan,
    TimingProbe,
    calibrated,
    check_probe_budget,
    fit_timing,
    probe_cost,
    write_calibration,
)
from qhil.errors import BudgetExceededError
from qhil.quantum.ansatz import HDQNNAnsatz


def synthetic_probes(overhead_s, per_circuit_s, per_shot_s, queue_s=0.0, noise=None):
    probes = []
    for i, (c, s) in enumerate([(1, 10), (1, 1000), (8, 100), (64, 10), (64, 1000)] * 3):
        jitter = 1.0 + (noise[i % len(noise)] if noise else 0.0)
        wall = (overhead_s + per_circuit_s * c + per_shot_s * c * s) * jitter + queue_s
        probes.append(TimingProbe(c, s, wall, queue_s))
    return probes


def test_fit_recovers_overhead_per_circuit_and_per_shot():
    fit = fit_timing(synthetic_probes(0.5, 2e-3, 1e-6, queue_s=3.0))
    assert (fit.job_overhead_s, fit.per_circuit_s, fit.per_shot_s) == pytest.approx((0.5, 2e-3, 1e-6))
    assert fit.queue_p50_s == 3.0 and fit.rel_residual < 1e-6
    assert fit.predict_s(10, 100) == pytest.approx(0.5 + 3.0 + 0.02 + 1e-3)


def test_fit_never_returns_negative_times():
    fit = fit_timing(synthetic_probes(0.01, 0.0, 5e-6, noise=[0.2, -0.2, 0.1, -0.1, 0.0]))
    assert min(fit.job_overhead_s, fit.per_circuit_s, fit.per_shot_s) >= 0
    assert fit.per_shot_s == pytest.approx(5e-6, rel=0.2)


def test_probe_budget_is_checked_before_spending():
    plan = ProbePlan(HDQNNAnsatz(2, 1), circuits=(1, 4), shots=(10,), repeats=2)
    paid = DeviceModel(pricing=Pricing(model="per-shot", per_task_usd=Decimal("0.30"),
                                       per_shot_usd=Decimal("0.01")))
    assert plan.jobs == 5 and plan.total_shots == 10 + 2 * 50
    assert probe_cost(plan, paid) == Decimal("0.30") * 5 + Decimal("0.01") * 110
    with pytest.raises(BudgetExceededError, match="--budget-usd"):
        check_probe_budget(plan, paid, max_usd=None, max_shots=None, max_jobs=None)
    with pytest.raises(BudgetExceededError, match="--budget-jobs"):
        check_probe_budget(plan, DeviceModel(), max_usd=None, max_shots=None, max_jobs=4)
    assert check_probe_budget(plan, paid, max_usd=Decimal(3), max_shots=110, max_jobs=5) > 0


def test_snapshot_round_trips_with_exact_prices(tmp_path):
    base = Calibration(device="dev", source="vendor page", date="2026-01-01",
                       pricing=Pricing(model="per-shot", per_task_usd=Decimal("0.30"),
                                       per_shot_usd=Decimal("0.00145")))
    cal = calibrated(base, fit_timing(synthetic_probes(0.5, 2e-3, 1e-6)), device="dev", what="test")
    loaded = load_calibration(write_calibration(cal, tmp_path / "c.toml"))
    assert loaded == cal and loaded.pricing.per_shot_usd == Decimal("0.00145")
    assert "vendor page" in loaded.source


def test_calibrate_summary_prints_money_as_money():
    from qhil.commands.calibrate import _summary

    text = _summary({"provider": "p", "jobs": 3, "fitted_jobs": 2, "shots": 1000,
                     "probe_cost_usd": "394.500000", "job_overhead_s": 0.1, "per_circuit_s": 0.01,
                     "per_shot_s": 1e-6, "queue_p50_s": 0.0, "rel_residual": 0.01,
                     "warnings": [], "out": "x.toml"})
    assert "(~$394.50)" in text and "394.500000" not in text
