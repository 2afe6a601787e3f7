"""The configured training run's wall time and dollars on one provider, from the cost model.

The one seam between the comparison and `qhil.cost`. Measured latencies replace the calibration's
queue and overhead figures: the per-job time beyond execution (round trip - execution) where the
device model knows how long circuits take (calibrated durations), else the whole round trip
(a simulator without durations: its job time *is* the latency).
"""

from __future__ import annotations

from qhil.calibration import Calibration
from qhil.config import ProviderProfile
from qhil.cost import DeviceModel, Workload, estimate
from qhil.report.model import LatencySummary, RunCost

METHODS = ("qtdnn", "parameter-shift")


def predict_run_costs(workload: Workload, profile: ProviderProfile,
                      calibration: Calibration | None,
                      latency: LatencySummary | None) -> tuple[list[RunCost], str]:
    """(run costs per method, note); the note says what the prediction rests on."""
    device = DeviceModel.from_profile(profile)
    measured, note = measured_latency(latency, knows_durations(calibration))
    result = estimate(workload, device, methods=METHODS, latency=measured)
    costs = [RunCost(method=m, wall_s=e.wall_s, cost_usd=e.cost_usd, qpu_s=e.qpu_s, jobs=e.jobs,
                     shots=e.shots) for m, e in result.methods.items()]
    if calibration is None:
        note += "; no calibration file: free, circuit time from the measured jobs only"
    return costs, note


def knows_durations(calibration: Calibration | None) -> bool:
    if calibration is None:
        return False
    d = calibration.durations
    return calibration.timing.per_shot_s > 0 or d.gate_1q_ns + d.gate_2q_ns + d.readout_ns > 0


def measured_latency(latency: LatencySummary | None,
                     durations: bool) -> tuple[dict[str, float] | None, str]:
    if latency is None or latency.round_trip_s_p50 is None:
        return None, "calibration latency"
    if durations and latency.overhead_s_p50 is not None:
        return ({"p50_s": latency.overhead_s_p50, "p95_s": latency.overhead_s_p95},
                "measured per-job overhead + calibrated circuit time")
    return ({"p50_s": latency.round_trip_s_p50, "p95_s": latency.round_trip_s_p95},
            "measured round trip per job")
