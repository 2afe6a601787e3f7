"""The qhil device's road to spending: (provider, budget, ledger, consent) -> a ready Dispatcher.

    dispatcher, consent_first = open_spending(provider, budget_usd, budget_shots, ledger, yes)
    consent_first(spend)        before the device's first job (a no-op on a free device)

One function, so that when qhil's one public spending road arrives this module is rewired in one
place. A device that bills refuses here, before anything is sent, unless it has a budget; the
Dispatcher then holds every job to that budget (BudgetExceededError, nothing sent, 0 overspent).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from qhil.cost.spend import Spend, consent
from qhil.errors import UserError
from qhil.execution.budget import Budget
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger
from qhil.execution.provider import Provider
from qhil.execution.registry import get_provider


def open_spending(provider: str | Provider, budget_usd: float | str | Decimal | None,
                  budget_shots: int | None, ledger: str | Path | None, yes: bool
                  ) -> tuple[Dispatcher, Callable[[Spend], None]]:
    """A Dispatcher on the provider with this budget and ledger (None: one in memory), and the
    consent to ask before the first job. A billing device without a budget is refused here."""
    backend = get_provider(provider) if isinstance(provider, str) else provider
    bills = _bills(backend)
    if bills and budget_usd is None and budget_shots is None:
        backend.close()
        raise UserError(f"{backend.name} bills per job or shot and the device has no budget: "
                        f"nothing was sent; pass budget_usd=... (or budget_shots=...) to "
                        f"qml.device('qhil', ...)")
    budget = Budget(shots=budget_shots, usd=budget_usd)
    book = Ledger(ledger) if ledger is not None else None
    dispatcher = Dispatcher(backend, ledger=book, budget=budget)
    asked = []

    def consent_first(spend: Spend) -> None:
        if not asked:
            consent(spend, budget, yes=yes)
            asked.append(True)

    return dispatcher, consent_first


def _bills(provider: Provider) -> bool:
    from qhil.cost.device import DeviceModel

    return DeviceModel.from_profile(provider.profile).charges
