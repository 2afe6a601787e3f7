"""Where a distributed run meets the spending road: its budget and every Dispatcher it opens.

The driver agrees to the run's spend once (`qhil.execution.consent.agree`, by the command's
consent); the driver's and each explorer's Dispatcher is then opened by the one spending road
under that consent (an explorer actor has no terminal to ask on), on the run's one shared
budget."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from qhil.execution.budget import Budget, BudgetState
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger
from qhil.execution.provider import Provider

DRIVER_LEDGER = "ledger.sqlite"  # the learner's jobs
EVAL_LEDGER = "ledger-eval.sqlite"  # the evaluation actor's jobs (qhil.distributed.evaluator)


def explorer_ledger(index: int) -> str:
    return f"ledger-explorer-{index}.sqlite"


def ledger_paths(run_dir: Path, explorers: int) -> list[Path]:
    """Every ledger of the run: the driver's, one per explorer, the evaluation actor's."""
    return [run_dir / DRIVER_LEDGER, *(run_dir / explorer_ledger(k) for k in range(explorers)),
            run_dir / EVAL_LEDGER]


def spent_so_far(run_dir: Path, explorers: int) -> BudgetState:
    """What every ledger of the run records as spent (a resumed run's budget starts there)."""
    shots, usd, jobs = 0, Decimal(0), 0
    for path in ledger_paths(run_dir, explorers):
        if path.is_file():
            with Ledger(path) as ledger:
                totals = ledger.totals()
            shots, usd, jobs = shots + totals.shots, usd + totals.cost_usd, jobs + totals.jobs
    return BudgetState(shots, usd, jobs)


def run_budget(limits: Budget | None, run_dir: Path, explorers: int) -> Budget:
    """The run's one budget: the command's limits, less what the run's ledgers already spent."""
    cap = limits.limit if limits is not None else BudgetState(None, None, None)
    return Budget(shots=cap.shots, usd=cap.cost_usd, jobs=cap.jobs,
                  spent=spent_so_far(run_dir, explorers))


def open_explorer_dispatcher(ledger_path: Path, provider: Provider, budget) -> Dispatcher:
    """A Dispatcher on the shared budget with its own ledger, by the spending road under the
    run's consent; jobs a killed worker left in flight are re-attached (their results land in
    the ledger, never bought twice)."""
    from qhil.execution import consent

    dispatcher = consent.open_dispatcher(provider, None, budget, yes=True, budget_required=False,
                                         ledger=Ledger(ledger_path), say=lambda line: None)
    dispatcher.resume()
    return dispatcher
