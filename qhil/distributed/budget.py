"""One budget across a distributed run's Dispatchers: a small Ray actor holds the qhil `Budget`,
so every reservation, from any explorer or the driver, is checked and held under its one lock.

    holder = budget_actor(budget)        a Ray actor around a qhil Budget
    shared = SharedBudget(holder)        what each Dispatcher is given (Budget's methods)
"""

from __future__ import annotations

from decimal import Decimal

from qhil.errors import BudgetExceededError
from qhil.execution.budget import Budget, BudgetState, Reservation


class BudgetHolder:
    """The run's Budget inside an actor; a refusal comes back as its message, not an exception
    (Ray would wrap it)."""

    def __init__(self, limit: BudgetState, spent: BudgetState):
        self.budget = Budget(shots=limit.shots, usd=limit.cost_usd, jobs=limit.jobs, spent=spent)

    def reserve(self, shots: int, cost_usd: Decimal, jobs: int, force: bool):
        try:
            return self.budget.reserve(shots, cost_usd, jobs, force=force)
        except BudgetExceededError as exc:
            return str(exc)

    def call(self, method: str, *args):
        return getattr(self.budget, method)(*args)


def budget_actor(budget: Budget):
    """The run's budget as a Ray actor (restarted with its state lost: reservations settle in the
    ledgers, which a resumed run reads its spending from)."""
    import ray

    return ray.remote(num_cpus=0)(BudgetHolder).remote(budget.limit, budget.spent())


class SharedBudget:
    """Budget's interface, each call answered by the holder actor."""

    def __init__(self, holder, limit: BudgetState):
        self.holder, self.limit = holder, limit

    def reserve(self, shots: int, cost_usd: Decimal, jobs: int = 1, *,
                force: bool = False) -> Reservation:
        answer = self._ask(self.holder.reserve.remote(shots, Decimal(cost_usd), jobs, force))
        if isinstance(answer, str):
            raise BudgetExceededError(answer)
        return answer

    def commit(self, reservation: Reservation, shots: int | None = None,
               cost_usd: Decimal | None = None) -> None:
        self._call("commit", reservation, shots, cost_usd)

    def release(self, reservation: Reservation) -> None:
        self._call("release", reservation)

    def spent(self) -> BudgetState:
        return self._call("spent")

    def reserved(self) -> BudgetState:
        return self._call("reserved")

    def remaining(self) -> BudgetState:
        return self._call("remaining")

    def _call(self, method: str, *args):
        return self._ask(self.holder.call.remote(method, *args))

    @staticmethod
    def _ask(ref):
        import ray

        return ray.get(ref)
