"""The cost model: counts, times, money and bands that could go wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qhil.calibration import Calibration, Pricing, load_calibration
from qhil.config import Limits
from qhil.cost import (
    DeviceModel,
    LatencyStats,
    Workload,
    ask_to_spend,
    estimate,
    preflight,
    shot_ns,
)
from qhil.cost.model import logical_steps
from qhil.errors import BudgetExceededError, ConfigError

TEN_YEARS_S = 10 * 365.25 * 86400
PAPER = Workload(10, 10, batch_size=256, shots=5000, updates=1)
PAPER_DEVICE = DeviceModel(gate_1q_ns=20, readout_ns=100)


def test_paper_parameter_shift_update_is_281_6_qpu_seconds():
    ps = estimate(PAPER, PAPER_DEVICE, methods=("parameter-shift",)).methods["parameter-shift"]
    assert ps.circuits == 256 * 440 and ps.shots == 256 * 440 * 5000
    assert ps.qpu_s == 281.6 and ps.qpu_s_per_update == 281.6


def test_ten_years_is_about_1_12_million_updates():
    ps = estimate(PAPER, PAPER_DEVICE).methods["parameter-shift"]
    assert ps.updates_within(TEN_YEARS_S) == pytest.approx(1.1207e6, rel=1e-4)
    run = estimate(Workload(10, 10, batch_size=256, shots=5000, updates=1_120_000), PAPER_DEVICE)
    assert run.methods["parameter_shift"].qpu_s == pytest.approx(TEN_YEARS_S, rel=1e-3)


def test_angles_only_shift_drops_the_cz_index_controls():
    w = Workload(10, 10, batch_size=256, shots=5000, updates=1, shift_controls="angles")
    ps = estimate(w, PAPER_DEVICE).methods["parameter-shift"]
    assert ps.circuits == 256 * 400 and ps.qpu_s == pytest.approx(256.0)


def test_spsa_needs_two_circuits_per_sample_and_qtdnn_none():
    w = Workload(4, 2, batch_size=32, shots=10, updates=6, policy_delay=2)
    result = estimate(w, DeviceModel())
    assert result.methods["spsa"].circuits == 3 * 32 * 2  # 3 actor updates of 6
    assert result.methods["qtdnn"].circuits == 0


def test_learner_forward_adds_target_and_actor_forward_circuits():
    w = Workload(4, 2, batch_size=8, shots=10, updates=4, policy_delay=2, learner_forward=True)
    spsa = estimate(w, DeviceModel()).methods["spsa"]
    assert spsa.circuits == 2 * 8 * (2 + 1) + 4 * 8


@pytest.mark.parametrize("entangler,n,cz_steps", [("data", 10, 1), ("chain", 10, 2),
                                                   ("ring", 10, 2), ("ring", 5, 3), ("chain", 2, 1)])
def test_logical_depth_packs_disjoint_cz_pairs(entangler, n, cz_steps):
    assert logical_steps(Workload(n, 3, entangler)) == (6, 3 * cz_steps)


def test_shot_time_uses_two_qubit_gates_depth_and_reset():
    device = DeviceModel(gate_1q_ns=20, gate_2q_ns=60, readout_ns=100, reset_ns=250)
    assert shot_ns(Workload(10, 10), device) == 20 * 20 + 10 * 60 + 100 + 250
    assert shot_ns(Workload(10, 10, circuit_depth=60), device) == 2 * 1000 + 350
    assert shot_ns(Workload(10, 10), DeviceModel(per_shot_s=1e-6, gate_1q_ns=20)) == 1000


def test_braket_style_money_is_exact_decimal():
    device = DeviceModel(pricing=Pricing(model="per-shot", per_task_usd=Decimal("0.30"),
                                         per_shot_usd=Decimal("0.00145")))
    qt = estimate(Workload(4, 2, shots=100, env_steps=10, num_envs=4), device).methods["qtdnn"]
    assert qt.jobs == 10 and qt.shots == 4000
    assert isinstance(qt.cost_usd, Decimal) and qt.cost_usd == Decimal("8.80")


def test_qpu_second_billing_honours_the_minimum():
    device = DeviceModel(per_shot_s=1e-3, pricing=Pricing(
        model="per-qpu-second", per_qpu_second_usd=Decimal("1.60"), min_billed_s=2.0))
    qt = estimate(Workload(4, 2, shots=100, env_steps=5, num_envs=3), device).methods["qtdnn"]
    assert qt.qpu_s == pytest.approx(5 * 0.3)
    assert qt.cost_usd == Decimal("1.60") * 5 * 2


def test_session_bills_the_wall_clock_band():
    device = DeviceModel(queue_p50_s=1.0, queue_p95_s=3.0, pricing=Pricing(
        model="session", per_minute_usd=Decimal("72")))
    qt = estimate(Workload(4, 2, shots=1, env_steps=60), device).methods["qtdnn"]
    assert qt.wall_s == pytest.approx(60.0) and qt.cost_usd == pytest.approx(Decimal("72"))
    assert qt.cost_usd_high == pytest.approx(Decimal("216"))


def test_jobs_split_by_circuit_and_shot_limits():
    w = Workload(10, 10, batch_size=256, shots=1000, updates=1)
    by_circuits = estimate(w, DeviceModel(max_circuits_per_job=300)).methods["spsa"]
    by_shots = estimate(w, DeviceModel(max_shots_per_job=100_000)).methods["spsa"]
    assert by_circuits.jobs == 2 and by_shots.jobs == 6  # 512 circuits, 100 per job


def test_band_orders_low_typical_high_and_parallel_jobs_share_the_queue():
    device = DeviceModel(job_overhead_s=1.0, queue_p5_s=0.0, queue_p50_s=10.0, queue_p95_s=100.0,
                         max_circuits_per_job=100, max_jobs_in_flight=3)
    spsa = estimate(Workload(4, 2, batch_size=256, shots=1, updates=1), device).methods["spsa"]
    assert spsa.jobs == 6  # 512 circuits; two waits of three jobs each
    assert (spsa.wall_s_low, spsa.wall_s, spsa.wall_s_high) == pytest.approx((2.0, 22.0, 202.0))


def test_measured_latency_replaces_the_queue_band():
    device = DeviceModel(job_overhead_s=5.0, queue_p50_s=60.0)
    w = Workload(4, 2, shots=1, env_steps=10)
    qt = estimate(w, device, latency={"round_trip_p50_s": 0.5, "round_trip_p95_s": 2.0}).methods["qtdnn"]
    assert (qt.wall_s, qt.wall_s_high) == pytest.approx((5.0, 20.0))
    assert estimate(w, device, latency=LatencyStats(1.0, 1.0)).methods["qtdnn"].wall_s == 10.0
    assert estimate(w, device, latency=LatencyStats(1.0, 3.0, mean_s=1.5)).methods["qtdnn"].wall_s == 15.0


def test_measured_latency_changes_time_not_the_bill():
    device = DeviceModel(job_overhead_s=2.0, pricing=Pricing(
        model="per-qpu-second", per_qpu_second_usd=Decimal("1.60")))
    w = Workload(4, 2, shots=10, env_steps=3)
    plain, measured = (estimate(w, device, latency=lat).methods["qtdnn"] for lat in (None, {"p50_s": 9}))
    assert plain.cost_usd == measured.cost_usd == Decimal("1.60") * 6
    assert (plain.wall_s, measured.wall_s) == (6.0, 27.0)


def test_measured_round_trips_of_a_known_shape_keep_the_models_execution():
    device = DeviceModel(per_shot_s=1e-3)  # a job of 2 circuits x 10 shots executes in 20 ms
    stats = LatencyStats(p50_s=0.12, p95_s=0.5, circuits=2, shots=10)
    big = estimate(Workload(4, 2, shots=10, env_steps=1, num_envs=20), device, latency=stats)
    assert big.methods["qtdnn"].wall_s == pytest.approx(0.1 + 0.2)


def test_savings_compare_each_method_with_qtdnn():
    device = DeviceModel(per_shot_s=1e-3, pricing=Pricing(model="per-shot", per_shot_usd=Decimal("0.01")))
    result = estimate(Workload(4, 2, batch_size=4, shots=10, env_steps=10, updates=10), device)
    # qtDNN: 10 circuits; SPSA adds 10 updates x 4 samples x 2 circuits = 80
    assert result.savings["spsa"]["cost_ratio"] == pytest.approx(9.0)
    assert result.savings["spsa"]["wall_ratio"] == pytest.approx(9.0)
    assert "qtdnn" not in result.savings and result.savings["parameter_shift"]["cost_ratio"] > 9


def test_json_uses_underscore_method_keys_and_string_money():
    data = estimate(PAPER, PAPER_DEVICE).to_json()
    assert set(data) >= {"qtdnn", "parameter_shift", "spsa", "savings", "workload", "device"}
    assert data["parameter_shift"]["cost_usd"] == "0.000000"


def test_unknown_method_and_bad_workload_are_user_errors():
    with pytest.raises(ConfigError, match="unknown method"):
        estimate(PAPER, PAPER_DEVICE, methods=("adjoint",))
    with pytest.raises(ConfigError, match="shots"):
        Workload(10, 10, shots=0)


def test_device_from_calibration_and_limits():
    cal = load_calibration("calibration/local-noisy.toml")
    device = DeviceModel.from_calibration(cal, Limits(max_qubits=20, max_circuits_per_job=7))
    assert device.gate_2q_ns == 60 and device.max_circuits_per_job == 7
    assert device.with_overrides(gate_ns=None, gate_1q_ns=5, per_shot_usd=0.5).pricing.per_shot_usd == Decimal("0.5")


def test_preflight_refuses_over_budget_and_passes_under():
    device = DeviceModel(pricing=Pricing(model="per-shot", per_task_usd=Decimal("0.30")))
    w = Workload(4, 2, shots=10, env_steps=100)
    assert preflight(w, device, Decimal("30")).methods["qtdnn"].cost_usd == Decimal("30.00")
    with pytest.raises(BudgetExceededError, match=r"\$29"):
        preflight(w, device, 29)
    with pytest.raises(BudgetExceededError, match="shots"):
        preflight(w, device, {"max_shots": 999})


def test_preflight_reads_what_an_execution_budget_has_left():
    from qhil.execution.budget import Budget

    device = DeviceModel(pricing=Pricing(model="per-shot", per_task_usd=Decimal("0.30")))
    budget = Budget(usd="40", jobs=150)
    budget.commit(budget.reserve(shots=1, cost_usd=Decimal("15"), jobs=1))
    with pytest.raises(BudgetExceededError, match=r"\$25"):
        preflight(Workload(4, 2, shots=10, env_steps=100), device, budget)
    assert preflight(Workload(4, 2, shots=10, env_steps=80), device, budget)


def test_ask_to_spend_asks_only_on_paid_devices():
    paid = DeviceModel(name="qpu", pricing=Pricing(model="per-shot", per_task_usd=Decimal("0.30")))
    w = Workload(4, 2, shots=10, env_steps=10)
    said: list[str] = []
    assert ask_to_spend(preflight(w, DeviceModel()), ask=lambda _: "n")
    assert not ask_to_spend(preflight(w, paid), ask=lambda _: "n", say=said.append)
    assert "$3.00" in said[0] and "qpu" in said[0]
    assert ask_to_spend(preflight(w, paid), ask=lambda _: " Y ", say=said.append)
    assert ask_to_spend(preflight(w, paid), yes=True, ask=lambda _: "n", say=said.append)


def test_charges_tells_paid_devices_from_free_ones():
    assert not DeviceModel().charges
    assert DeviceModel(pricing=Pricing(model="per-shot", per_shot_usd=Decimal("0.001"))).charges


def test_calibration_fields_added_by_the_cost_model_have_defaults():
    cal = Calibration(device="x", source="test", date="2026-01-01")
    assert cal.durations.depth_factor == 1.0 and cal.timing.queue_p5_s == 0.0
