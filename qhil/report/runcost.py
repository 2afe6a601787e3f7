"""The configured training run's wall time and dollars on one provider, from the cost model.

The one seam between the comparison and `qhil.cost`. The measured per-job overhead (round trip
minus the calibration's device time of the probe job: queue, compilation, transfer, or a
simulator's own run time) replaces the calibration's queue and overhead figures; the cost model
adds the calibrated device time of each training job back. The probe jobs' size is not the
training jobs' size: on a simulator, whose run time grows with the job, this is an approximation.
"""

from __future__ import annotations

from qhil.config import ProviderProfile
from qhil.cost import DeviceModel, Workload, estimate
from qhil.report.model import LatencySummary, RunCost

METHODS = ("qtdnn", "parameter-shift")


def predict_run_costs(workload: Workload, profile: ProviderProfile,
                      latency: LatencySummary | None) -> tuple[list[RunCost], str]:
    """(run costs per method, note); the note says what the prediction rests on."""
    device = DeviceModel.from_profile(profile)
    measured = measured_latency(latency)
    result = estimate(workload, device, methods=METHODS, latency=measured)
    costs = [RunCost(method=m, wall_s=e.wall_s, cost_usd=e.cost_usd, qpu_s=e.qpu_s, jobs=e.jobs,
                     shots=e.shots) for m, e in result.methods.items()]
    note = "measured per-job overhead" if measured else "calibration latency"
    if profile.calibration is None:
        note += "; no calibration file: free, no device time"
    return costs, note


def measured_latency(latency: LatencySummary | None) -> dict[str, float] | None:
    if latency is None or latency.overhead_s_p50 is None:
        return None
    return {"p50_s": latency.overhead_s_p50, "p95_s": latency.overhead_s_p95}
