"""One trial of a sweep, run by Ray Tune in a worker process: train its run folder (or continue
it from its journal and checkpoint after a kill), then report the run's summary to Tune.

A run folder that already holds summary.json is finished: its summary is reported again and
nothing is trained or sent (a driver killed after a trial ended but before Tune recorded it).
Its share of the sweep's budget is enforced job by job by the run's Dispatcher, which counts
what the run's ledger already holds.
"""

from __future__ import annotations

from typing import Any

from qhil.execution.budget import Budget, BudgetState
from qhil.rl.config import TrainConfig
from qhil.rl.summary import RunSummary
from qhil.sweep.plan import SweepFolder, SweepPlan

TRIAL_INDEX = "__trial_index__"  # set by Tune's Repeater: which seed of an optuna sample


def run_trial(config: dict[str, Any], sweep: str) -> None:
    """Tune's function trainable: `config` holds the cell index and the seed (or, under
    --search optuna, the searched values and the Repeater's index into the seeds)."""
    from ray import tune

    folder = SweepFolder(sweep)
    plan = folder.read_plan()
    train_config = plan.trial_config(config["cell"], seed_of(plan, config), searched(plan, config))
    run_dir = folder.run_folder(plan, train_config)
    summary = train_folder(train_config, run_dir, plan.cells[config["cell"]].allowance)
    tune.report(result_row(summary, run_dir))


def seed_of(plan: SweepPlan, config: dict[str, Any]) -> int:
    return config["seed"] if "seed" in config else plan.spec.seeds[config[TRIAL_INDEX]]


def searched(plan: SweepPlan, config: dict[str, Any]) -> dict[str, Any]:
    return {p.key: config[p.key] for p in plan.spec.params if p.key in config}


def train_folder(config: TrainConfig, path, allowance: BudgetState | None) -> RunSummary:
    """Train the run folder to its end (resuming it if it was started); its summary."""
    from qhil.execution.registry import get_provider
    from qhil.rl.run import run_training
    from qhil.rl.rundir import RunFolder
    from qhil.sweep.spending import trial_agreement

    folder = RunFolder(path)
    budget = budget_of(allowance)
    if not folder.summary_path.is_file():
        with get_provider(config.provider) as provider:
            run_training(config, folder, provider, resume=folder.config_path.is_file(), budget=budget,
                  agreement=trial_agreement(provider, budget))
    return RunSummary.read(folder.summary_path)


def budget_of(allowance: BudgetState | None) -> Budget | None:
    if allowance is None:
        return None
    return Budget(shots=allowance.shots, usd=allowance.cost_usd, jobs=allowance.jobs)


def result_row(summary: RunSummary, run_dir) -> dict[str, Any]:
    """What Tune records of a trial (the run folder stays the record of everything)."""
    return {"eval_return_mean": summary.eval_return_mean, "steps": summary.steps,
            "wall_s": summary.wall_s, "hw_jobs": summary.hw.jobs, "hw_shots": summary.hw.shots,
            "hw_cost_usd": summary.hw.cost_usd, "run_folder": str(run_dir)}
