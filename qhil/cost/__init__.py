"""The cost model (issue 5): what a training run costs on a device, before and after.

    Workload            the run's demand (ansatz, minibatch, shots, steps, updates, evaluation)
    DeviceModel         the device's durations, latencies, job limits and prices (calibration)
    estimate(...)       -> CostEstimate: per method circuits, shots, jobs, QPU s, wall s, dollars
    preflight(...)      the check `qhil train` runs before spending
"""

from qhil.cost.device import DeviceModel, LatencyStats
from qhil.cost.model import (
    METHODS,
    CostEstimate,
    MethodEstimate,
    PhaseEstimate,
    estimate,
    json_key,
    method_name,
    shot_ns,
)
from qhil.cost.preflight import ask_to_spend, preflight, prompt_text, train_spend
from qhil.cost.workload import Workload
from qhil.execution.spend import Spend, budget_limits, check_budget

__all__ = [
    "METHODS", "CostEstimate", "ask_to_spend", "DeviceModel", "LatencyStats", "MethodEstimate", "PhaseEstimate",
    "Spend", "Workload", "budget_limits", "check_budget", "estimate", "json_key", "method_name",
    "preflight", "prompt_text", "shot_ns", "train_spend",
]
