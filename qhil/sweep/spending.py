"""The whole sweep's spend, asked for once, and the sweep's budget split over its trials.

    estimate = sweep_estimate(plan)                jobs, shots, dollars of the trials to run
    check_budget(estimate.total, budget)           before Ray starts (qhil.execution.spend)
    consent_to_sweep(estimate, parallel, budget, yes=...)   wall time at the cluster's
                                                   parallelism; the one question
    plan = with_allowances(plan, estimate, budget) each cell's trials get a share of the budget

Each trial's Dispatcher enforces its share job by job (seeded from its run folder's ledger on
--resume), and the shares add up to at most the sweep's limits, so the sweep as a whole never
spends more than --budget-*. A share is the budget in proportion to the trial's estimate (evenly
where nothing is estimated). `consent_to_sweep` is the one place the sweep asks, through the one
spending road (`qhil.execution.consent.agree`); each trial then opens its Dispatcher under that
consent (`trial_agreement`), as an agent of `qhil qtrl` does: a Ray worker has no terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal

from qhil.config import find_profile
from qhil.cost.device import DeviceModel
from qhil.cost.model import estimate
from qhil.cost.preflight import train_spend
from qhil.cost.workload import Workload
from qhil.execution import consent
from qhil.execution.budget import Budget, BudgetState
from qhil.execution.spend import Spend, hours
from qhil.rl.config import TrainConfig
from qhil.sweep.plan import SweepPlan

NOTHING = Spend("", (), False, 0, 0, Decimal(0))


@dataclass(frozen=True)
class TrialEstimate:
    """One trial's spend on its provider and the wall time its hardware takes."""

    spend: Spend
    wall_s: float


@dataclass(frozen=True)
class SweepEstimate:
    """Every trial's estimate (in trial order) and their sum as the one Spend asked for."""

    trials: list[TrialEstimate]
    cells: list[TrialEstimate]
    total: Spend


def trial_estimate(config: TrainConfig) -> TrialEstimate:
    """A trial's cost estimate; a classical block (fc, rbg, zeros) never touches a provider."""
    if config.block != "pqc":
        return TrialEstimate(NOTHING, 0.0)
    profile, method = find_profile(config.provider), config.quantum.gradient
    wall_s = estimate(Workload.from_train(config), DeviceModel.from_profile(profile),
                      (method,)).methods[method].wall_s
    return TrialEstimate(replace(train_spend(config, profile), what="a trial"), wall_s)


def priced_config(plan: SweepPlan, cell: int) -> TrainConfig:
    """A cell's trial config as the estimate prices it (searched parameters at their priciest)."""
    searched = {p.key: p.priciest() for p in plan.spec.params} if plan.spec.search == "optuna" else {}
    return plan.trial_config(cell, plan.spec.seeds[0], searched)


def sweep_estimate(plan: SweepPlan, finished: Collection[tuple[int, int]] = (),
                   finished_count: int = 0) -> SweepEstimate:
    """The spend of the trials still to run (all, for a new sweep): grid and random trials are
    (cell, seed) pairs; optuna's may land in any cell, so each is priced at the dearest cell."""
    cells = [trial_estimate(priced_config(plan, c)) for c in range(len(plan.cells))]
    if plan.spec.search == "optuna":
        dearest = max(cells, key=lambda e: (e.spend.cost_usd, e.spend.shots, e.spend.jobs))
        trials = [dearest] * (plan.trial_count() - finished_count)
    else:
        trials = [cells[c] for c, s in plan.planned() if (c, s) not in finished]
    total = sum((t.spend for t in trials), NOTHING)
    rest = f", {plan.trial_count() - len(trials)} finished are kept" if len(trials) < plan.trial_count() else ""
    return SweepEstimate(trials, cells, replace(total, what=f"the sweep ({len(trials)} trials{rest})",
                                                devices=total.devices or ("no QPU",)))


def at_parallelism(estimate: SweepEstimate, parallel: int) -> Spend:
    """The sweep's Spend with its hardware wall time when `parallel` trials run at once."""
    trials = estimate.trials
    wall = sum(t.wall_s for t in trials) / max(1, min(parallel, len(trials)))
    return replace(estimate.total, extra=f"hardware wall {hours(wall)} at {parallel} trials at once")


def consent_to_sweep(estimate: SweepEstimate, parallel: int, budget: Budget | None, *,
                     yes: bool) -> None:
    """The budget check and, on a device that bills, the one question for the whole sweep (a
    free sweep's estimate is printed too, without a question)."""
    spend = at_parallelism(estimate, parallel)
    providers = [d for d in spend.devices if d != "no QPU"]
    if providers:
        consent.agree(providers, spend, budget, yes=yes, budget_required=False)
    if not spend.charges:
        print(f"qhil: {spend.describe()}", file=sys.stderr, flush=True)


def trial_agreement(provider, budget: Budget | None) -> consent.Agreement:
    """A trial's consent: the sweep's driver asked once for every trial (and checked the whole
    sweep against the budget); the trial's share is enforced job by job by its Dispatcher."""
    return consent.agree(provider, None, budget, yes=True, budget_required=False,
                         what="a trial's jobs", say=lambda line: None)


def with_allowances(plan: SweepPlan, estimate: SweepEstimate, budget: BudgetState | None) -> SweepPlan:
    """The plan with each cell's per-trial share of the budget (None: no budget)."""
    if budget is None:
        return plan
    total = amounts([t.spend for t in estimate.trials])
    optuna = plan.spec.search == "optuna"  # any trial may land in any cell: priced at the dearest
    needs = [amounts([(estimate.trials[0] if optuna else cell).spend]) for cell in estimate.cells]
    n = len(estimate.trials)
    cells = [cell.model_copy(update={"allowance": allowance(budget, need, total, n)})
             for cell, need in zip(plan.cells, needs, strict=True)]
    return plan.model_copy(update={"cells": cells})


def amounts(spends: list[Spend]) -> BudgetState:
    return BudgetState(sum(s.shots for s in spends), sum((s.cost_usd for s in spends), Decimal(0)),
                       sum(s.jobs for s in spends))


def allowance(budget: BudgetState, need: BudgetState, total: BudgetState, trials: int) -> BudgetState:
    """One trial's share: each limit in proportion to the trial's need in the sweep's total."""
    return BudgetState(_share(budget.shots, need.shots, total.shots, trials),
                       _share(budget.cost_usd, need.cost_usd, total.cost_usd, trials),
                       _share(budget.jobs, need.jobs, total.jobs, trials))


def _share(limit, need, total, trials: int):
    """limit x need / total, rounded down (so the shares never add up to more than the limit)."""
    if limit is None:
        return None
    part = Decimal(limit) * need / total if total else Decimal(limit) / trials
    if isinstance(limit, int):
        return int(part.to_integral_value(ROUND_DOWN))
    return part.quantize(Decimal("0.000001"), ROUND_DOWN)
