"""How long a distributed run's actors take to start on this machine: the cost model's start-up
term (`qhil calibrate --config C --explorers N` measures it; `qhil estimate` adds it to the
wall time).

    seconds = actors_start_s(config)

The actors are started as `train_distributed` starts them, in a local Ray cluster that is
already up (a run's clock starts after Ray's own start-up): the evaluation actor and N explorer
actors, each opening its provider, Dispatcher, ledger and journal in a scratch run folder; the
time is until every constructor has returned. No job is sent. Up means as a run finds it: the
budget actor ready and Ray's pool of idle workers started (Ray boots them while the driver
builds the run's learner, before the run's clock starts; timing the actors on a cluster still
booting its workers measured 8-13 s more than the runs' own start-up at load 10-17).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from qhil.distributed.budget import SharedBudget, budget_actor
from qhil.distributed.cluster import local_ray
from qhil.distributed.evaluator import start_evaluator, stop_evaluator
from qhil.distributed.fleet import Fleet
from qhil.execution.budget import Budget
from qhil.rl.config import TrainConfig


def actors_start_s(config: TrainConfig) -> float:
    """Seconds for the run's evaluation and explorer actors to start (Ray already up)."""
    from qhil.distributed.run import explorer_providers

    scratch = Path(tempfile.mkdtemp(prefix="qhil-actors-"))
    try:
        with local_ray():
            budget = Budget()
            holder = budget_actor(budget)
            _cluster_up(holder)
            shared = SharedBudget(holder, budget.limit)
            started = time.perf_counter()
            return _started(config, scratch, shared, explorer_providers(config), started)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _cluster_up(holder) -> None:
    """The budget actor ready and one task run on each CPU (so Ray's idle workers are up; the
    task imports nothing of qhil's, as a run's idle workers have imported nothing)."""
    import ray

    ray.get(holder.__ray_ready__.remote())
    idle = ray.remote(num_cpus=1)(lambda: None)
    ray.get([idle.remote() for _ in range(int(ray.cluster_resources().get("CPU", 1)))])


def _started(config: TrainConfig, folder: Path, budget, providers: list[str],
             started: float) -> float:
    import ray

    evaluator = start_evaluator(config, folder, budget)
    fleet = Fleet.start(config, folder, providers, budget, [0] * len(providers))
    try:
        ray.get([actor.__ray_ready__.remote() for actor in (evaluator, *fleet.handles)])
        return time.perf_counter() - started
    finally:
        fleet.close()
        stop_evaluator(evaluator)
