"""Before spending: the estimate of a training run on a profile, checked against its budget.

    result = preflight(Workload.from_train(config), profile, budget)   # config: a TrainConfig
        # BudgetExceededError (exit 2) when the estimate does not fit the budget
    if not ask_to_spend(result, yes=yes):
        ...  # the user said no; nothing was spent

The budget check and the question are `qhil.execution.spend`'s (`check_budget`, `consent`), the
ones every command asks through `qhil.execution.consent.open_dispatcher`; `ask_to_spend` wraps them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from qhil.config import ProviderProfile
from qhil.cost.device import DeviceModel
from qhil.cost.model import CostEstimate, estimate, method_name
from qhil.cost.report import usd
from qhil.cost.workload import Workload
from qhil.errors import UserError
from qhil.execution.spend import Spend, check_budget, consent, hours

if TYPE_CHECKING:
    from qhil.rl.config import TrainConfig


def preflight(workload: Workload, profile: ProviderProfile | DeviceModel, budget: Any = None,
              *, method: str = "qtdnn", latency: Any = None) -> CostEstimate:
    """The run's estimate; raises BudgetExceededError if its typical cost, shots or jobs exceed
    the budget (a number of dollars, a dict or an object with usd / shots / jobs limits)."""
    device = profile if isinstance(profile, DeviceModel) else DeviceModel.from_profile(profile)
    result = estimate(workload, device, methods=(method,), latency=latency)
    check_budget(Spend.of_estimate(result, method, f"the run ({method_name(method)})"), budget)
    return result


def train_spend(config: TrainConfig, profile: ProviderProfile) -> Spend:
    """What a training run will send on the profile's device, by its own gradient method (the
    learner's circuits of parameter-shift, spsa and exact included); nothing for the classical
    blocks, which never touch a provider."""
    method = config.quantum.gradient
    what = f"the run ({config.steps:,} steps, {method})"
    if config.block != "pqc":
        return Spend(f"the run ({config.block} block: no circuits)", (profile.name,), False, 0, 0,
                     Decimal(0))
    result = estimate(Workload.from_train(config), DeviceModel.from_profile(profile), (method,))
    return Spend.of_estimate(result, method, what)


def prompt_text(result: CostEstimate, method: str = "qtdnn") -> str:
    """The line `qhil train` prints before asking to go on."""
    m = result.methods[method]
    return (f"estimate on {result.device.name}: {m.circuits:,} circuits, {m.shots:,} shots, "
            f"{m.jobs:,} jobs, {m.qpu_s:.1f} QPU s, wall {hours(m.wall_s)} "
            f"({hours(m.wall_s_low)}-{hours(m.wall_s_high)}), {usd(m.cost_usd)} "
            f"({usd(m.cost_usd_low)}-{usd(m.cost_usd_high)})")


def ask_to_spend(result: CostEstimate, *, yes: bool = False, method: str = "qtdnn",
                 ask: Callable[[str], str] = input, say: Callable[[str], Any] = print) -> bool:
    """On a device that bills, print the estimate and ask to go on; free devices and --yes pass.
    The commands' own consent (`qhil.execution.spend.consent`), answering True / False."""
    try:
        consent(Spend.of_estimate(result, method, "the run"), yes=yes, ask=ask, say=say)
    except UserError:
        return False
    return True


