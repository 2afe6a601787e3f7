"""The sweep as a Ray Tune experiment in sweeps/NAME/tune: its param space, search algorithm,
resources per trial, progress, and its restore after a kill.

    grid, random   a grid over (cell, seed); random search's points are drawn here, once, by
                   Tune's own distributions, and stored in the cells, so every seed of a point
                   shares its values (and its confidence interval means something)
    optuna         OptunaSearch over (cell, searched values), each suggestion repeated once per
                   seed by Tune's Repeater; it maximises the evaluation return

Tune's experiment state (tuner.pkl, experiment_state-*.json) is Ray's own pickle: --resume
trusts only the sweep folder it wrote itself.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ray import tune
from ray.tune import Callback

from qhil.progress import Bar, RecentRate
from qhil.sweep.plan import SweepFolder, SweepPlan
from qhil.sweep.spec import OBJECTIVE, Param
from qhil.sweep.trial import run_trial

ENDED = ("TERMINATED", "ERROR")


def domain(p: Param):
    """Tune's distribution for a --param."""
    if p.kind == "choice":
        return tune.choice(p.args)
    return getattr(tune, p.kind)(*p.args)


def draw_points(params: list[Param], samples: int, seed: int) -> list[dict[str, Any]]:
    """--search random: `samples` points, each drawn by Tune's distributions (reproducibly)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [{p.key: _plain(domain(p).sample(random_state=rng)) for p in params}
            for _ in range(samples)]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def param_space(plan: SweepPlan) -> dict[str, Any]:
    cells = list(range(len(plan.cells)))
    if plan.spec.search == "optuna":
        return {"cell": tune.choice(cells), **{p.key: domain(p) for p in plan.spec.params}}
    return {"cell": tune.grid_search(cells), "seed": tune.grid_search(plan.spec.seeds)}


def tune_config(plan: SweepPlan) -> tune.TuneConfig:
    spec = plan.spec
    if spec.search != "optuna":
        return tune.TuneConfig(max_concurrent_trials=spec.max_concurrent)
    from ray.tune.search import Repeater
    from ray.tune.search.optuna import OptunaSearch

    search = Repeater(OptunaSearch(seed=spec.seeds[0]), repeat=len(spec.seeds), set_index=True)
    return tune.TuneConfig(metric=OBJECTIVE, mode="max", search_alg=search,
                           num_samples=plan.trial_count(), max_concurrent_trials=spec.max_concurrent)


def trainable(plan: SweepPlan, folder: SweepFolder):
    spec = plan.spec
    fn = tune.with_parameters(run_trial, sweep=str(folder.path))
    return tune.with_resources(fn, {"cpu": spec.cpus_per_trial, "gpu": spec.gpus_per_trial})


def fit(plan: SweepPlan, folder: SweepFolder, resume: bool):
    """Run the experiment (a new one, or the interrupted one restored) to its end: its results."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # verbose=0 silences only the old reporter
    return (restored_tuner(plan, folder) if resume else new_tuner(plan, folder)).fit()


def new_tuner(plan: SweepPlan, folder: SweepFolder) -> tune.Tuner:
    run = tune.RunConfig(name=folder.tune.name, storage_path=str(folder.path), verbose=0,
                         callbacks=[SweepProgress(plan.trial_count())])
    return tune.Tuner(trainable(plan, folder), param_space=param_space(plan),
                      tune_config=tune_config(plan), run_config=run)


def restored_tuner(plan: SweepPlan, folder: SweepFolder) -> tune.Tuner:
    """The interrupted experiment: finished trials kept, unfinished and failed ones run again
    (each continues its own run folder); a sweep killed before Tune saved anything starts anew."""
    if not tune.Tuner.can_restore(str(folder.tune)):
        return new_tuner(plan, folder)
    return tune.Tuner.restore(str(folder.tune), trainable(plan, folder),
                              resume_unfinished=True, restart_errored=True)


class SweepProgress(Callback):
    """The sweep's progress bar: trials ended of all, with the ETA at the sweep's own pace."""

    def __init__(self, total: int):
        self.total = total
        self._bar: Bar | None = None
        self._seen: tuple[int, int, int] | None = None

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles its callbacks into tuner.pkl
        return {"total": self.total, "_bar": None, "_seen": None}

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        counts = (sum(t.status in ENDED for t in trials), sum(t.status == "RUNNING" for t in trials),
                  sum(t.status == "ERROR" for t in trials))
        if counts == self._seen:
            return
        self._seen = counts
        done, running, failed = counts
        if self._bar is None:
            self._bar = Bar("sweep", self.total, "trials", done=done)
            self._bar.rate = RecentRate(window_s=float("inf"))  # the pace since this start
            self._bar.rate.add(time.perf_counter(), done)
        self._bar.update(done, f"{running} running, {failed} failed")

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self._bar is not None:
            self._bar.close()
