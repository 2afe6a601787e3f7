"""The qhil device's road to spending: (provider, budget, ledger, consent) -> a ready Dispatcher,
through qhil's one spending road (`qhil.open_dispatcher`).

    dispatcher, check = open_spending(provider, budget_usd, budget_shots, ledger, yes)
    check(spend)        before each batch: refused when the budget's remainder cannot pay it

A device that bills refuses at construction, before anything is sent, unless it has a budget
and consent (`yes=True`, or a person at the terminal, who is asked once: "up to the budget");
the Dispatcher then holds every job to that budget (BudgetExceededError, nothing sent, 0
overspent).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from qhil.errors import UserError
from qhil.execution.budget import Budget
from qhil.execution.consent import open_dispatcher
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.pricing import profile_bills
from qhil.execution.provider import Provider
from qhil.execution.spend import Spend, check_budget


def open_spending(provider: str | Provider, budget_usd: float | str | Decimal | None,
                  budget_shots: int | None, ledger: str | Path | None, yes: bool
                  ) -> tuple[Dispatcher, Callable[[Spend], None]]:
    """A Dispatcher on the provider with this budget and ledger (None: one in memory), and the
    check to run before each batch. A billing device without budget or consent is refused here."""
    limited = budget_usd is not None or budget_shots is not None
    budget = Budget(shots=budget_shots, usd=budget_usd) if limited else None
    if budget is None and _bills(provider):
        raise UserError(f"{_name(provider)} bills per job or shot and the device has no budget: "
                        f"nothing was sent; pass budget_usd=... (or budget_shots=...) and "
                        f"yes=True to qml.device('qhil', ...)")
    dispatcher = open_dispatcher(provider, None, budget, yes=yes, ledger=ledger,
                                 what="the PennyLane device's jobs")
    return dispatcher, lambda spend: check_budget(spend, dispatcher.budget)


def _bills(provider: str | Provider) -> bool:
    from qhil.config import find_profile

    return profile_bills(provider.profile if isinstance(provider, Provider)
                         else find_profile(provider))


def _name(provider: str | Provider) -> str:
    return provider.profile.name if isinstance(provider, Provider) else str(provider)
