"""The budget: atomic reservations, commit on result, release on unbilled failure, never exceeded."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from qhil.errors import BudgetExceededError
from qhil.execution.budget import Budget, BudgetState, format_usd


def test_reserve_commit_release_accounting():
    budget = Budget(shots=1000, usd=Decimal("1.00"), jobs=3)
    a = budget.reserve(400, Decimal("0.30"))
    b = budget.reserve(100, Decimal("0.10"))
    assert budget.remaining() == BudgetState(500, Decimal("0.60"), 1)
    budget.commit(a, shots=350)
    budget.release(b)
    assert budget.spent() == BudgetState(350, Decimal("0.30"), 1)
    assert budget.reserved() == BudgetState(0, Decimal(0), 0)
    assert budget.remaining() == BudgetState(650, Decimal("0.70"), 2)


def test_refusal_says_what_is_left_and_reserves_nothing():
    budget = Budget(shots=1000, usd=Decimal("0.50"))
    budget.commit(budget.reserve(900, Decimal("0.40")))
    with pytest.raises(BudgetExceededError) as info:
        budget.reserve(200, Decimal("0.05"))
    message = str(info.value)
    assert "shots" in message and "left: 100 shots, $0.10, unlimited jobs" in message
    with pytest.raises(BudgetExceededError, match="dollars"):
        budget.reserve(10, Decimal("0.11"))
    assert budget.reserved().shots == 0 and budget.remaining().shots == 100


def test_settling_twice_changes_nothing():
    budget = Budget(jobs=5)
    r = budget.reserve(10, Decimal("1"))
    budget.commit(r)
    budget.commit(r)
    budget.release(r)
    assert budget.spent() == BudgetState(10, Decimal("1"), 1)


def test_unlimited_dimensions_and_prior_spending():
    budget = Budget(usd="2.5", spent=BudgetState(100, Decimal("2.0"), 4))
    assert budget.remaining() == BudgetState(None, Decimal("0.5"), None)
    with pytest.raises(BudgetExceededError):
        budget.reserve(1, Decimal("0.6"))
    forced = budget.reserve(1, Decimal("0.6"), force=True)  # a re-attached, already-paid job
    budget.commit(forced)
    assert budget.spent().cost_usd == Decimal("2.6")


def test_concurrent_reservations_never_exceed_the_limit():
    budget = Budget(shots=1000, usd=Decimal("3.00"), jobs=40)
    granted, refused = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def worker(i: int) -> None:
        barrier.wait()
        for _ in range(20):
            try:
                r = budget.reserve(7 + i % 3, Decimal("0.07"))
            except BudgetExceededError:
                with lock:
                    refused.append(i)
                continue
            with lock:
                granted.append(r)
            (budget.commit if len(granted) % 2 else budget.release)(r)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spent = budget.spent()
    assert refused, "the limits were never reached"
    assert spent.shots <= 1000 and spent.cost_usd <= Decimal("3.00") and spent.jobs <= 40
    assert budget.reserved() == BudgetState(0, Decimal(0), 0)


@pytest.mark.parametrize("value,text", [(Decimal("0.3"), "$0.30"), (Decimal("0.00145"), "$0.00145"),
                                        (Decimal("12"), "$12.00")])
def test_format_usd(value, text):
    assert format_usd(value) == text
