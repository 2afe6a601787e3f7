"""The primitives' Dispatcher, by the one spending road (`qhil.open_dispatcher`).

A device that bills needs a budget (dollars, or a `qhil.Budget`) and consent (`yes=True`, or an
`ask` callback answered once, at construction); each `run` is then checked against what the
budget has left before it is sent, and the Dispatcher enforces it job by job.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from qhil.errors import UserError


def open_primitives_dispatcher(provider: str, budget: Any, ledger: str | Path | None, yes: bool,
                    ask: Callable[[str], str] | None):
    """A Dispatcher ready to spend on the named provider (UserError before anything is sent)."""
    from qhil.execution.consent import open_dispatcher as open_road

    return open_road(provider, None, as_budget(budget), yes=yes, ask=ask, ledger=ledger,
                     what="the primitives' jobs")


def as_budget(budget: Any):
    """None, a qhil Budget, or a number of dollars."""
    from qhil.execution.budget import Budget

    if budget is None or isinstance(budget, Budget):
        return budget
    if isinstance(budget, (int, float, Decimal, str)) and not isinstance(budget, bool):
        return Budget(usd=Decimal(str(budget)))
    raise UserError(f"budget must be a number of dollars or a qhil.Budget, got {budget!r}")


def check_remaining(dispatcher, requests: list) -> None:
    """Refuse a run that the budget's remainder cannot pay, before anything is sent."""
    from qhil.execution.spend import check_budget, request_spend

    check_budget(request_spend("this run", dispatcher.provider.profile, requests),
                 dispatcher.budget)


def run_all(dispatcher, requests: list, timeout_s: float | None) -> list:
    """Every request submitted, then each (result, cost_usd the ledger recorded), in order."""
    check_remaining(dispatcher, requests)
    jobs = [dispatcher.submit(r) for r in requests]
    return [(job.result(timeout_s), _recorded_cost(dispatcher, job)) for job in jobs]


def _recorded_cost(dispatcher, job) -> Decimal:
    """What the ledger says this job cost ($0 for a result the ledger already held)."""
    entry = dispatcher.ledger.entry(getattr(job, "token", "") or "")
    return Decimal(0) if entry is None else entry.cost_usd
