"""The configured training run's wall time and dollars on one provider, from the cost model.

The one seam between the comparison and `qhil.cost`: the measured per-job latency beyond the
circuits' own execution (queue, overhead, transfer) replaces the calibration's queue figures.
"""

from __future__ import annotations

from qhil.calibration import Calibration
from qhil.config import ProviderProfile
from qhil.report.model import LatencySummary, RunCost

METHODS = ("qtdnn", "parameter-shift")


def predict_run_costs(workload, profile: ProviderProfile, calibration: Calibration | None,
                      latency: LatencySummary | None) -> tuple[list[RunCost], str]:
    """(run costs per method, note); the note says what the prediction rests on."""
    from qhil.cost import DeviceModel, estimate

    if calibration is None:
        return [], "no calibration file: durations and prices unknown"
    device = DeviceModel.from_calibration(calibration, profile.limits)
    measured = _overhead(latency)
    result = estimate(workload, device, methods=METHODS, latency=measured)
    costs = [RunCost(method=m, wall_s=e.wall_s, cost_usd=e.cost_usd, qpu_s=e.qpu_s, jobs=e.jobs,
                     shots=e.shots) for m, e in result.methods.items()]
    return costs, "measured latency" if measured else "calibration latency"


def _overhead(latency: LatencySummary | None) -> dict[str, float] | None:
    if latency is None or latency.overhead_s_p50 is None:
        return None
    return {"p50_s": latency.overhead_s_p50, "p95_s": latency.overhead_s_p95}
