"""The shot, dollar and job budget: the one place where spending is accounted.

    budget = Budget(shots=100_000, usd=Decimal("5"), jobs=20)    None = unlimited
    r = budget.reserve(shots, cost_usd, jobs=1)   before sending; raises BudgetExceededError
    budget.commit(r, shots=None, cost_usd=None)   on the result (actuals; default: as reserved)
    budget.release(r)                             on a failure the provider did not bill
    budget.spent() / budget.reserved() / budget.remaining() -> BudgetState

Reservations are atomic under one lock, so concurrent submitters and retries can never together
exceed a limit: what is reserved counts as spent until it is committed or released. A reservation
settles once; committing or releasing it again does nothing (duplicate deliveries are harmless).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from decimal import Decimal

from qhil.errors import BudgetExceededError


def format_usd(value: Decimal) -> str:
    """Dollars with at least two and at most six decimals: $0.30, $0.00145."""
    text = f"{Decimal(value):.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


@dataclass(frozen=True)
class BudgetState:
    """Shots, dollars and jobs; a None field means "no limit" in `remaining()`."""

    shots: int | None
    cost_usd: Decimal | None
    jobs: int | None

    def describe(self) -> str:
        shots = "unlimited" if self.shots is None else f"{self.shots}"
        usd = "unlimited dollars" if self.cost_usd is None else format_usd(self.cost_usd)
        jobs = "unlimited" if self.jobs is None else f"{self.jobs}"
        return f"{shots} shots, {usd}, {jobs} jobs"


@dataclass(frozen=True)
class Reservation:
    """An amount held back for one submission until it is committed or released."""

    id: int
    shots: int
    cost_usd: Decimal
    jobs: int


class Budget:
    """Limits on shots, dollars and jobs, enforced before anything is sent."""

    def __init__(self, shots: int | None = None, usd: Decimal | float | str | None = None,
                 jobs: int | None = None, spent: BudgetState | None = None):
        self.limit = BudgetState(shots, None if usd is None else Decimal(str(usd)), jobs)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._open: dict[int, Reservation] = {}
        prior = spent or BudgetState(0, Decimal(0), 0)
        self._spent = [prior.shots or 0, prior.cost_usd or Decimal(0), prior.jobs or 0]

    def reserve(self, shots: int, cost_usd: Decimal, jobs: int = 1, *,
                force: bool = False) -> Reservation:
        """Hold back an amount, or raise BudgetExceededError saying what is left.

        `force=True` records an amount already committed at the provider (a re-attached job)
        without refusing it.
        """
        cost_usd = Decimal(cost_usd)
        with self._lock:
            if not force:
                self._check(shots, cost_usd, jobs)
            reservation = Reservation(next(self._ids), shots, cost_usd, jobs)
            self._open[reservation.id] = reservation
            return reservation

    def commit(self, reservation: Reservation, shots: int | None = None,
               cost_usd: Decimal | None = None) -> None:
        """Turn a reservation into spending, with the actual amounts where known."""
        with self._lock:
            if self._open.pop(reservation.id, None) is None:
                return
            self._spent[0] += reservation.shots if shots is None else shots
            self._spent[1] += reservation.cost_usd if cost_usd is None else Decimal(cost_usd)
            self._spent[2] += reservation.jobs

    def release(self, reservation: Reservation) -> None:
        """Give a reservation back: the provider did not bill the failed submission."""
        with self._lock:
            self._open.pop(reservation.id, None)

    def spent(self) -> BudgetState:
        with self._lock:
            return BudgetState(*self._spent)

    def reserved(self) -> BudgetState:
        with self._lock:
            return self._held()

    def remaining(self) -> BudgetState:
        """What may still be reserved; None for an unlimited dimension."""
        with self._lock:
            return self._left()

    def _held(self) -> BudgetState:
        held = list(self._open.values())
        return BudgetState(sum(r.shots for r in held),
                           sum((r.cost_usd for r in held), Decimal(0)), sum(r.jobs for r in held))

    def _left(self) -> BudgetState:
        held, cap = self._held(), self.limit
        shots = None if cap.shots is None else max(cap.shots - self._spent[0] - held.shots, 0)
        usd = None if cap.cost_usd is None else max(
            cap.cost_usd - self._spent[1] - held.cost_usd, Decimal(0))
        jobs = None if cap.jobs is None else max(cap.jobs - self._spent[2] - held.jobs, 0)
        return BudgetState(shots, usd, jobs)

    def _check(self, shots: int, cost_usd: Decimal, jobs: int) -> None:
        left = self._left()
        over = [what for what, need, have in (("shots", shots, left.shots),
                                              ("dollars", cost_usd, left.cost_usd),
                                              ("jobs", jobs, left.jobs))
                if have is not None and need > have]
        if over:
            raise BudgetExceededError(
                f"budget exceeded ({', '.join(over)}): the request needs {shots} shots, "
                f"{format_usd(cost_usd)}, {jobs} jobs; left: {left.describe()}; "
                f"raise --budget-shots/--budget-usd/--budget-jobs or send a smaller request")
