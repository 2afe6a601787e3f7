"""A distributed training run end to end: validate, then the single-process run's pieces (run
folder, Session, learner, journal, checkpoints, evaluations, summary) with N explorer actors in
place of the explorer thread; the summary's totals are the sum of the run's ledgers."""

from __future__ import annotations

from pathlib import Path

from qhil.distributed.budget import SharedBudget, budget_actor
from qhil.distributed.cluster import local_ray, require_ray
from qhil.distributed.evaluator import RemoteEvaluations, start_evaluator, stop_evaluator
from qhil.distributed.fleet import Fleet
from qhil.distributed.learner import LearnerPlacement, learner_device, learner_gpus
from qhil.distributed.loop import DistributedLoop, lag_figures, taken_key
from qhil.distributed.spending import (
    DRIVER_LEDGER,
    explorer_ledger,
    ledger_paths,
    open_explorer_dispatcher,
    run_budget,
)
from qhil.errors import BudgetExceededError, QhilError, RunInterruptedError
from qhil.execution import consent
from qhil.execution.budget import Budget
from qhil.execution.consent import Agreement
from qhil.execution.ledger import Ledger
from qhil.execution.provider import Provider
from qhil.execution.registry import get_provider
from qhil.progress import warn
from qhil.rl.config import TrainConfig, dump_toml
from qhil.rl.loop import Progress, snapshot_actor
from qhil.rl.run import (
    MetricsLogger,
    Session,
    _loop_and_finish,
    learning_warning,
    schedule,
    validate_run,
)
from qhil.rl.rundir import RunFolder
from qhil.rl.summary import ExplorerSummary, HardwareSummary, RunSummary
from qhil.runlock import claim


def explorer_providers(config: TrainConfig) -> list[str]:
    """The provider of each explorer: one each, one shared, or the run's `provider`."""
    names = config.distributed.providers or [config.provider]
    return names if len(names) > 1 else names * config.distributed.explorers


def check_providers(config: TrainConfig, provider: Provider) -> None:
    """Every explorer's provider accepts the run's requests, before anything is written."""
    validate_run(config, provider)
    for name in sorted(set(explorer_providers(config)) - {provider.name}):
        with get_provider(name) as other:
            validate_run(config, other)


def train_distributed(config: TrainConfig, folder: RunFolder, provider: Provider, *,
                      resume: bool = False, progress: Progress | None = None,
                      budget: Budget | None = None,
                      agreement: Agreement | None = None) -> RunSummary:
    """`rl.run.run_training` with explorer actors: train, evaluate, write the summary (with `explorers`).
    `agreement`: the caller's consent to the run's spend (without it a device that bills is
    refused, as `rl.run.run_training`)."""
    require_ray()
    check_providers(config, provider)
    agreement = agreement or consent.agree(provider, None, budget, what="the run's jobs")
    if learning_warning(config):
        warn(learning_warning(config))
    if not resume:
        folder.create(config)
    with claim(folder.path, "qhil train"), local_ray():  # one writer per run folder
        if resume:
            folder.config_path.write_text(dump_toml(config))
        whole = run_budget(budget, folder.path, config.distributed.explorers)
        shared = SharedBudget(budget_actor(whole), whole.limit)
        try:
            if learner_gpus(config):
                return on_learner_actor(config, folder, shared, resume)
            return _train_here(config, folder, provider, shared, resume, progress)
        finally:
            folder.close()
            folder.export_csv()


def _train_here(config, folder, provider, budget, resume, progress) -> RunSummary:
    """The learner in this (the driver's) process, on the CPU unless loop.device says cuda."""
    dispatcher = open_explorer_dispatcher(folder.path / DRIVER_LEDGER, provider, budget)
    try:
        return _train(config, folder, dispatcher, resume, progress)
    finally:
        dispatcher.ledger.close()


def on_learner_actor(config, folder, budget, resume) -> RunSummary:
    """The learner in its actor on the cluster's GPU (learner.py); its placement said, its
    failures raised here as the driver's learner's would be (no progress lines from it)."""
    import ray

    worker = start_learner(config, folder.path, budget)
    try:
        where = ray.get(worker.placement.remote())
        if where.note:
            warn(where.note)
        return ray.get(worker.train.remote(resume))
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, QhilError):
            raise exc.cause from None
        raise
    except ray.exceptions.RayActorError as exc:
        raise RunInterruptedError(
            f"the learner actor died ({type(exc).__name__}); the run is checkpointed - continue "
            f"it with 'qhil train --resume {folder.path}'") from exc
    finally:
        ray.kill(worker, no_restart=True)


def _train(config, folder, dispatcher, resume, progress, gpu_ids=()) -> RunSummary:
    s = Session(config, folder, dispatcher)
    ledgers = RunLedgers(ledger_paths(folder.path, config.distributed.explorers))
    evaluator = start_evaluator(config, folder.path, dispatcher.budget)
    s.evaluations = RemoteEvaluations(config, dispatcher, s.ansatz, s.journal, worker=evaluator)
    try:
        if resume:
            s.restore()
            s.evaluations.reopen(s.explorer.transitions, lambda: snapshot_actor(s.td3.actor))
        loop, logger = _build(s, ledgers, progress)
        try:
            _loop_and_finish_or_stop(s, loop, logger)
        finally:
            loop.fleet.close()
        return write_summary(s, loop, ledgers, list(gpu_ids))
    finally:
        stop_evaluator(evaluator)
        ledgers.close()
        s.journal.close()


def _build(s: Session, ledgers: RunLedgers, progress) -> tuple[DistributedLoop, MetricsLogger]:
    """The metrics logger (hw figures from every ledger), the explorer actors and the loop."""
    logger = MetricsLogger(s, progress)
    logger.figures = ledgers.totals
    fleet = Fleet.start(s.config, s.folder.path, explorer_providers(s.config),
                        s.dispatcher.budget, delivered_steps(s))
    loop = DistributedLoop(s.config, s.explorer, s.learner, schedule(s, logger), s.clock,
                           fleet=fleet)
    loop.on_tick = logger.tick
    return loop, logger


def _loop_and_finish_or_stop(s: Session, loop: DistributedLoop, logger: MetricsLogger) -> None:
    """The run, or a stop that names the resume command (the learner or an explorer failed)."""
    try:
        _loop_and_finish(s, loop, logger)
    except (BudgetExceededError, RunInterruptedError, KeyboardInterrupt):
        raise
    except (QhilError, Exception) as exc:
        raise RunInterruptedError(
            f"the distributed run stopped at step {s.explorer.transitions} ({exc}); it is "
            f"checkpointed - continue it with 'qhil train --resume {s.folder.path}'") from exc


def delivered_steps(s: Session) -> list[int]:
    """Steps of each explorer the run's journal holds: a resumed run asks each for its next one."""
    return [int(s.journal.noted(taken_key(k)) or 0) for k in range(s.config.distributed.explorers)]


def write_summary(s: Session, loop: DistributedLoop, ledgers: RunLedgers,
                  gpu_ids: list[str]) -> RunSummary:
    """summary.json again, with the ledgers' totals, one row per explorer and where the learner
    ran (`gpu_ids`: the GPUs Ray gave its actor)."""
    config, path = s.config, s.folder.path
    names = explorer_providers(config)
    rows = [explorer_row(path, k, name, loop) for k, name in enumerate(names)]
    lags = [lag for per in loop.lags for lag in per]
    summary = RunSummary.read(s.folder.summary_path).model_copy(update={
        "hw": ledgers.totals(), "env_wait_fraction": None, "qpu_idle_fraction": None,
        "explorers": rows, **lag_figures(lags),
        "policy_lag_bound": config.distributed.max_policy_lag,
        "learner_device": s.device.type, "learner_gpu_ids": gpu_ids})
    summary = RunSummary.model_validate(summary.model_dump())  # the update validated
    s.folder.write_summary(summary)
    return summary


def explorer_row(run_dir: Path, k: int, name: str, loop: DistributedLoop) -> ExplorerSummary:
    """One explorer's steps, jobs, latency and policy lag (its ledger's figures)."""
    with Ledger(run_dir / explorer_ledger(k)) as ledger:
        totals, latency = ledger.totals(), ledger.latency_stats().round_trip_s
    return ExplorerSummary(
        explorer=k, provider=name, ledger=explorer_ledger(k),
        steps=loop.fleet.delivered[k] * loop.config.num_envs, jobs=totals.jobs,
        shots=totals.shots, cost_usd=float(totals.cost_usd), latency_p50_s=latency.p50,
        latency_p95_s=latency.p95, **lag_figures(loop.lags[k]))


class RunLedgers:
    """The run's ledgers (the driver's and each explorer's), opened once, summed."""

    def __init__(self, paths: list[Path]):
        self.paths, self.opened = paths, {}

    def totals(self) -> HardwareSummary:
        """Jobs, circuits, shots and dollars over every ledger (latency: per explorer)."""
        every = [ledger.totals() for ledger in self._ledgers()]
        return HardwareSummary(
            jobs=sum(t.jobs for t in every), circuits=sum(t.circuits for t in every),
            shots=sum(t.shots for t in every),
            cost_usd=round(sum(float(t.cost_usd) for t in every), 6))

    def _ledgers(self) -> list[Ledger]:
        for path in self.paths:
            if path not in self.opened and path.is_file():
                self.opened[path] = Ledger(path)
        return list(self.opened.values())

    def close(self) -> None:
        for ledger in self.opened.values():
            ledger.close()


class LearnerWorker:
    """What the learner actor runs (ray.remote is applied by `start_learner`)."""

    def __init__(self, config_data: dict, run_dir: str, budget):
        import ray

        self.config = TrainConfig(**config_data)
        self.run_dir, self.budget = Path(run_dir), budget
        ids = [str(i) for i in ray.get_gpu_ids()]
        self.where = learner_device(ids, self.config.loop.device)

    def placement(self) -> LearnerPlacement:
        return self.where

    def train(self, resume: bool):
        """The learner's side of the run, on its device; the summary (its exceptions reach
        the driver as Ray's task errors, their cause kept)."""
        config = self.config.with_overrides(**{"loop.device": self.where.device})
        folder = RunFolder(self.run_dir)
        with get_provider(config.provider) as provider:
            dispatcher = open_explorer_dispatcher(self.run_dir / DRIVER_LEDGER, provider, self.budget)
            try:
                return _train(config, folder, dispatcher, resume, None, self.where.gpu_ids)
            finally:
                dispatcher.ledger.close()
                folder.close()


def start_learner(config: TrainConfig, run_dir: Path, budget):
    """The learner actor, holding one GPU and the CPU the driver's learner would use."""
    import ray

    remote = ray.remote(num_gpus=1, num_cpus=0)(LearnerWorker)
    return remote.remote(config.model_dump(), str(run_dir), budget)
