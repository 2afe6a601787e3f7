"""The run-cost seam: measured per-job overhead into the cost model."""

from __future__ import annotations

import pytest

from qhil.config import find_profile
from qhil.cost import Workload
from qhil.report.model import LatencySummary
from qhil.report.runcost import predict_run_costs


def latency(p50_s: float, p95_s: float) -> LatencySummary:
    return LatencySummary(None, None, None, None, p50_s, p95_s, [], p50_s, p95_s)


WORKLOAD = Workload(n_qubits=4, n_layers=2, batch_size=32, shots=100, env_steps=1000,
                    num_envs=1, updates=500, eval_episodes=0)


def test_without_device_time_the_run_takes_jobs_times_the_measured_overhead():
    profile = find_profile("local")
    slow, note = predict_run_costs(WORKLOAD, profile, latency(0.2, 0.4))
    fast, _ = predict_run_costs(WORKLOAD, profile, latency(0.1, 0.2))
    assert note.startswith("measured per-job overhead")
    for method in ("qtdnn", "parameter-shift"):
        s = next(c for c in slow if c.method == method)
        f = next(c for c in fast if c.method == method)
        assert s.wall_s == pytest.approx(2 * f.wall_s) and s.cost_usd == 0
    qtdnn = next(c for c in slow if c.method == "qtdnn")
    assert qtdnn.wall_s == pytest.approx(qtdnn.jobs * 0.2)


def test_calibrated_device_time_is_added_to_the_overhead():
    noisy = find_profile("local-noisy")  # calibrated gate and readout durations
    with_device, _ = predict_run_costs(WORKLOAD, noisy, latency(0.1, 0.2))
    without, _ = predict_run_costs(WORKLOAD, find_profile("local"), latency(0.1, 0.2))
    ps = {c.method: c for c in with_device}["parameter-shift"]
    assert ps.wall_s > {c.method: c for c in without}["parameter-shift"].wall_s
    assert ps.qpu_s > 0


def test_without_measurement_the_calibration_latency_is_used():
    _, note = predict_run_costs(WORKLOAD, find_profile("local-noisy"), None)
    assert note == "calibration latency"
