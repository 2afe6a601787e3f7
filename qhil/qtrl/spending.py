"""What a QT run with --provider may spend: the run's Dispatcher, each agent's budget share, and
the per-episode gate that stops every agent at the same episode when the budget runs out.

Every agent process opens the run folder's ledger.sqlite (SQLite WAL: safe across processes) and
its own Dispatcher, so each p_i estimate is validated, reserved, recorded and retried as in every
other command. The --budget-* limits cover the whole run folder across resumes: what the ledger
shows spent is subtracted, and the rest is split evenly over the N agents (each sends the same
job every episode, so an even split stops no agent earlier than a shared pool would).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import torch.distributed as dist

from qhil.errors import BudgetExceededError
from qhil.execution import consent
from qhil.execution.budget import Budget, BudgetState
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger
from qhil.execution.pricing import job_cost_usd, tasks_for
from qhil.execution.provider import Provider
from qhil.qtrl.circuit import generator_request
from qhil.qtrl.generator import QTGenerator

LEDGER = "ledger.sqlite"


@dataclass(frozen=True)
class JobCost:
    """What one agent's p_i estimate costs: shots, dollars (calibration prices), provider tasks."""

    shots: int
    cost_usd: Decimal
    tasks: int

    @classmethod
    def of(cls, provider: Provider, model: QTGenerator, shots: int) -> JobCost:
        request = generator_request(model, shots, seed=0)
        return cls(request.total_shots, job_cost_usd(provider.profile, request),
                   tasks_for(provider.profile, request))


def remaining(limits: BudgetState, spent: BudgetState) -> BudgetState:
    """Limits minus what was spent (None stays unlimited)."""
    def left(cap, used):
        return None if cap is None else max(cap - used, type(cap)(0))
    return BudgetState(left(limits.shots, spent.shots), left(limits.cost_usd, spent.cost_usd),
                       left(limits.jobs, spent.jobs))


def share(total: BudgetState, world: int, rank: int) -> BudgetState:
    """Agent `rank`'s even share of `total` (integer parts: the remainder to the lowest ranks)."""
    def part(value):
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value / world
        return value // world + (1 if rank < value % world else 0)
    return BudgetState(part(total.shots), part(total.cost_usd), part(total.jobs))


def affordable_episodes(left: BudgetState, cost: JobCost, world: int) -> int | None:
    """Whole episodes (every agent one job) that `left` pays for; None when unlimited."""
    counts = [have // (need * world) for have, need in ((left.shots, cost.shots),
                                                         (left.cost_usd, cost.cost_usd),
                                                         (left.jobs, cost.tasks))
              if have is not None and need]
    return int(min(counts)) if counts else None


def refuse_if_unaffordable(left: BudgetState, cost: JobCost, world: int) -> int | None:
    """Before any process starts: a budget that cannot pay one episode is refused (exit 2)."""
    episodes = affordable_episodes(left, cost, world)
    if episodes == 0:
        raise BudgetExceededError(
            f"budget exceeded: one episode needs {world} job(s) of {cost.shots} shots "
            f"(${cost.cost_usd * world}); left: {left.describe()}; raise --budget-shots/"
            f"--budget-usd/--budget-jobs or lower --shots")
    return episodes


def spent_in(root: Path, provider_name: str) -> BudgetState:
    """What the run folder's ledger shows as settled spending on this provider."""
    path = root / LEDGER
    if not path.is_file():
        return BudgetState(0, Decimal(0), 0)
    with Ledger(path) as ledger:
        return ledger.spent(provider_name)


def open_agent_dispatcher(root: Path, provider: Provider, limits: BudgetState | None, rank: int,
                          world: int, timeout_s: float) -> Dispatcher:
    """This agent's Dispatcher on the run's ledger; agent 0 first creates the ledger and settles
    jobs a killed run left in flight (their results land in the ledger, where the replayed
    episodes find them). The other agents open it after the barrier: a fresh file switched to
    WAL by several processes at once failed with "database is locked" (SQLite skips the busy
    timeout there, as the switch upgrades a read lock to a write lock)."""
    if rank == 0:
        ledger = Ledger(root / LEDGER)
        for job in _agreed(provider, ledger, None).resume():
            job.result(timeout_s)
    if world > 1:
        dist.barrier()
    if rank != 0:
        ledger = Ledger(root / LEDGER)
    budget = None
    if limits is not None:
        left = share(remaining(limits, ledger.spent(provider.name)), world, rank)
        budget = Budget(shots=left.shots, usd=left.cost_usd, jobs=left.jobs)
    return _agreed(provider, ledger, budget)


def _agreed(provider: Provider, ledger: Ledger, budget: Budget | None) -> Dispatcher:
    """A Dispatcher by the spending road, under the consent `qhil qtrl` got before any agent
    process started (an agent has no terminal to ask on): the launcher's `agree` checked the
    run's spend against the whole budget; here each agent's share is enforced job by job."""
    return consent.open_dispatcher(provider, None, budget, yes=True, budget_required=False,
                                   ledger=ledger, say=lambda line: None)


def can_afford(budget: Budget | None, cost: JobCost) -> bool:
    """Whether this agent's budget still covers one more job."""
    if budget is None:
        return True
    left = budget.remaining()
    return all(have is None or need <= have for need, have in (
        (cost.shots, left.shots), (cost.cost_usd, left.cost_usd), (cost.tasks, left.jobs)))
