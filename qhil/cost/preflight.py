"""Before spending: the estimate of a training run on a profile, checked against its budget.

    result = preflight(Workload.from_train_data(config.model_dump()), profile, budget)
        # BudgetExceededError (exit 2) when the estimate does not fit the budget
    if not ask_to_spend(result, yes=yes):
        ...  # the user said no; nothing was spent

`qhil train` and every other command that submits work ask through `qhil.cost.spend.consent`,
which `ask_to_spend` wraps (one question, one budget check, for every command).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from qhil.config import ProviderProfile
from qhil.cost.device import DeviceModel
from qhil.cost.model import CostEstimate, MethodEstimate, estimate, money_text
from qhil.cost.report import usd
from qhil.cost.workload import Workload
from qhil.errors import BudgetExceededError

_USD_NAMES = ("usd", "max_usd", "dollars", "max_dollars", "cost_usd", "budget_usd")
_SHOT_NAMES = ("shots", "max_shots")
_JOB_NAMES = ("jobs", "max_jobs")


def preflight(workload: Workload, profile: ProviderProfile | DeviceModel, budget: Any = None,
              *, method: str = "qtdnn", latency: Any = None) -> CostEstimate:
    """The run's estimate; raises BudgetExceededError if its typical cost, shots or jobs exceed
    the budget (a number of dollars, a dict or an object with usd / shots / jobs limits)."""
    device = profile if isinstance(profile, DeviceModel) else DeviceModel.from_profile(profile)
    result = estimate(workload, device, methods=(method,), latency=latency)
    check_budget(result.methods[method], budget, device.name)
    return result


def check_budget(run: MethodEstimate, budget: Any, device_name: str = "") -> None:
    """Refuse a run whose estimate exceeds any limit the budget sets; None means no budget."""
    usd, shots, jobs = budget_limits(budget)
    where = f" on {device_name}" if device_name else ""
    if usd is not None and run.cost_usd > usd:
        raise BudgetExceededError(
            f"the run is estimated at ${money_text(run.cost_usd)}{where} "
            f"(band ${money_text(run.cost_usd_low)}-${money_text(run.cost_usd_high)}), over the "
            f"${usd} budget; raise the budget or shorten the run (steps, shots, envs)")
    refuse_counts(f"the run{where} needs", (("shots", run.shots, shots), ("jobs", run.jobs, jobs)),
                  "raise the budget or shorten the run")


def refuse_counts(subject: str, counts: tuple[tuple[str, int, int | None], ...], advice: str) -> None:
    """Raise BudgetExceededError for the first (name, need, limit) whose need exceeds its limit."""
    for name, need, limit in counts:
        if limit is not None and need > limit:
            raise BudgetExceededError(f"{subject} {need:,} {name}, over --budget-{name} {limit:,}; "
                                      f"{advice}")


def budget_limits(budget: Any) -> tuple[Decimal | None, int | None, int | None]:
    """(dollars, shots, jobs) limits of a budget given as a number, a dict or an object; a
    `qhil.execution.budget.Budget` gives what it has left (`remaining()`)."""
    if budget is None:
        return None, None, None
    if callable(getattr(budget, "remaining", None)):
        budget = budget.remaining()
    if isinstance(budget, (int, float, Decimal, str)):
        return Decimal(str(budget)), None, None
    get = budget.get if isinstance(budget, dict) else (lambda k: getattr(budget, k, None))
    usd, shots, jobs = (next((get(k) for k in names if get(k) is not None), None)
                        for names in (_USD_NAMES, _SHOT_NAMES, _JOB_NAMES))
    return (None if usd is None else Decimal(str(usd)),
            None if shots is None else int(shots), None if jobs is None else int(jobs))


def prompt_text(result: CostEstimate, method: str = "qtdnn") -> str:
    """The line `qhil train` prints before asking to go on."""
    m = result.methods[method]
    return (f"estimate on {result.device.name}: {m.circuits:,} circuits, {m.shots:,} shots, "
            f"{m.jobs:,} jobs, {m.qpu_s:.1f} QPU s, wall {_hours(m.wall_s)} "
            f"({_hours(m.wall_s_low)}-{_hours(m.wall_s_high)}), {usd(m.cost_usd)} "
            f"({usd(m.cost_usd_low)}-{usd(m.cost_usd_high)})")


def ask_to_spend(result: CostEstimate, *, yes: bool = False, method: str = "qtdnn",
                 ask: Callable[[str], str] = input, say: Callable[[str], Any] = print) -> bool:
    """On a device that bills, print the estimate and ask to go on; free devices and --yes pass.
    The commands' own consent (`qhil.cost.spend.consent`), answering True / False."""
    from qhil.cost.spend import Spend, consent
    from qhil.errors import UserError

    try:
        consent(Spend.of_estimate(result, method, "the run"), yes=yes, ask=ask, say=say)
    except UserError:
        return False
    return True


def _hours(seconds: float) -> str:
    from qhil.cost.spend import hours

    return hours(seconds)
