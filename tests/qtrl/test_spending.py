"""Budget arithmetic of a QT run: what is left, each agent's share, whole episodes paid for."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qhil import get_provider
from qhil.errors import BudgetExceededError
from qhil.execution.budget import Budget, BudgetState
from qhil.qtrl import spending
from qhil.qtrl.spending import (
    JobCost,
    affordable_episodes,
    can_afford,
    refuse_if_unaffordable,
    remaining,
    share,
)

COST = JobCost(shots=1000, cost_usd=Decimal("0.35"), tasks=1)


def test_remaining_subtracts_the_ledger_and_keeps_unlimited():
    left = remaining(BudgetState(5000, None, 9), BudgetState(6000, Decimal("2"), 3))
    assert left == BudgetState(0, None, 6)


def test_shares_add_up_to_the_total_and_differ_by_at_most_one():
    total = BudgetState(10_001, Decimal("1.00"), 7)
    parts = [share(total, 3, rank) for rank in range(3)]
    assert sum(p.shots for p in parts) == 10_001 and [p.jobs for p in parts] == [3, 2, 2]
    assert sum(p.cost_usd for p in parts) == pytest.approx(Decimal("1.00"))


def test_whole_episodes_are_limited_by_the_tightest_dimension():
    assert affordable_episodes(BudgetState(9000, Decimal("10"), None), COST, world=2) == 4
    assert affordable_episodes(BudgetState(None, Decimal("1.40"), None), COST, world=2) == 2
    assert affordable_episodes(BudgetState(None, None, None), COST, world=2) is None
    with pytest.raises(BudgetExceededError, match="one episode needs 2 job"):
        refuse_if_unaffordable(BudgetState(1999, None, None), COST, world=2)


def test_an_agent_can_afford_its_next_job_until_the_budget_is_spent():
    budget = Budget(shots=2500)
    assert can_afford(budget, COST) and can_afford(None, COST)
    for _ in range(2):
        budget.commit(budget.reserve(1000, Decimal(0)))
    assert not can_afford(budget, COST)


@pytest.mark.parametrize("rank,order", [(0, ["open", "barrier"]), (1, ["barrier", "open"])])
def test_only_agent_0_creates_the_ledger_and_the_others_open_it_after_the_barrier(
        tmp_path, monkeypatch, rank, order):
    """Agents switching one fresh file to WAL at once met "database is locked" (no busy wait)."""
    events = []
    ledger = spending.Ledger
    monkeypatch.setattr(spending, "Ledger", lambda path: events.append("open") or ledger(path))
    monkeypatch.setattr(spending.dist, "barrier", lambda: events.append("barrier"))
    with get_provider("local") as provider:
        spending.open_agent_dispatcher(tmp_path, provider, None, rank, 2, 10.0).ledger.close()
    assert events == order
