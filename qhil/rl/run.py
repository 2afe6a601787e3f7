"""A training run end to end: build, (resume,) loop, checkpoint, evaluate, summarise, plot."""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from qhil.config import ProviderProfile
from qhil.errors import BudgetExceededError, ConfigError
from qhil.execution import consent
from qhil.execution.budget import Budget
from qhil.execution.consent import Agreement
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger
from qhil.execution.provider import Provider
from qhil.layers.gradients import circuits_per_sample
from qhil.progress import warn
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.rl.buffers import PairBuffer, ReplayBuffer
from qhil.rl.checkpoints import KEEP
from qhil.rl.config import TrainConfig
from qhil.rl.envs import make_envs
from qhil.rl.evaluations import Evaluations
from qhil.rl.explorer import Explorer
from qhil.rl.journal import Journal, Layout
from qhil.rl.learner import Learner, build_td3
from qhil.rl.loop import (
    Every,
    Loop,
    LoopClock,
    Progress,
    budget_stop_error,
    snapshot_actor,
    thread_plan,
)
from qhil.rl.metrics import MetricsLogger, Sink, fractions, ledger_hw
from qhil.rl.plots import plot_fidelity, plot_latency, plot_returns
from qhil.rl.rundir import RunFolder
from qhil.rl.sampler import HardwareSampler, HardwareStats
from qhil.rl.schedule import Schedule
from qhil.rl.summary import (
    SUMMARY_VERSION,
    ClockSummary,
    LearnerReplayed,
    RunSummary,
    ThreadSummary,
)
from qhil.runlock import claim
from qhil.threads import side_executor


def pick_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def env_dims(env_id: str) -> tuple[int, int, np.ndarray, np.ndarray]:
    envs = make_envs(env_id, 1)
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    envs.close()
    return int(np.prod(obs_space.shape)), int(np.prod(act_space.shape)), act_space.low, act_space.high


def validate_run(config: TrainConfig, provider: Provider) -> None:
    """Validate the environment, the gradient method and every request shape (exploration,
    evaluation, the learner's) before anything is written or spent."""
    env_dims(config.env)
    if config.block != "pqc":
        return
    check_gradient(config, provider.profile)
    q = config.quantum
    ansatz = HDQNNAnsatz(q.qubits, q.layers, q.entangler)
    batches = {config.num_envs, config.eval.episodes, *learner_batches(config, ansatz)} - {0}
    for batch in batches:
        provider.validate(ansatz.request(np.zeros((batch, ansatz.control_dim)), q.shots, seed=0))


def reproducible(config: TrainConfig) -> bool:
    """Whether the same config and seed give this run again exactly: the sync loop, and no
    periodic evaluation (it runs in a thread beside the loop and shares the job-seed counter)."""
    return config.loop.mode == "sync" and not config.eval.every_steps


def learning_warning(config: TrainConfig) -> str | None:
    """Why these settings will train nothing (the policy stays random), or None."""
    start = max(config.td3.learning_starts, config.td3.batch_size)
    if config.steps <= start:
        return (f"steps {config.steps} <= {start} (learning starts at the larger of "
                f"td3.learning_starts {config.td3.learning_starts} and td3.batch_size "
                f"{config.td3.batch_size}): no learner update will run and the policy stays random; "
                f"raise --steps above {start} or lower [td3] learning_starts")
    return None


def check_gradient(config: TrainConfig, profile: ProviderProfile) -> None:
    """`exact` differentiates the embedded simulator: only on a simulator provider."""
    exact = config.block == "pqc" and config.quantum.gradient == "exact"
    if exact and not profile.limits.supports_exact:
        raise ConfigError(
            f"--gradient exact needs a simulator provider (exact marginals); {profile.name} is "
            f"not one: use --gradient qtdnn, parameter-shift or spsa, or a simulator such as local")


def learner_batches(config: TrainConfig, ansatz: HDQNNAnsatz) -> list[int]:
    """Circuits of the learner's jobs: target values (B) and the actor update's (B x per sample)."""
    method = config.quantum.gradient
    if method == "qtdnn":
        return []
    batch = config.td3.batch_size
    return [batch, batch * circuits_per_sample(method, ansatz.angle_dim)]


def fidelity_reference(provider: Provider) -> str:
    """'exact' on an ideal simulator; elsewhere the simulator is a shadow of the device."""
    profile = provider.profile
    ideal = profile.limits.supports_exact and not profile.calibration \
        and not profile.options.get("noise")
    return "exact" if ideal else "shadow"


def open_run_dispatcher(folder: RunFolder, provider: Provider, limits: Budget | None,
                    agreement: Agreement | None = None) -> Dispatcher:
    """The run's Dispatcher, by the spending road (`agreement`: what the caller agreed to before
    the folder was written; none: agreed here, which a device that bills refuses): its ledger in
    the run folder, its budget seeded with what was spent."""
    agreement = agreement or consent.agree(provider, None, limits, what="the run's jobs")
    ledger = Ledger(folder.path / "ledger.sqlite")
    cap = limits.limit if limits is not None else None
    budget = Budget(shots=cap and cap.shots, usd=cap and cap.cost_usd, jobs=cap and cap.jobs,
                    spent=ledger.spent(provider.name))
    dispatcher = consent.open_dispatcher(provider, budget=budget, ledger=ledger, agreement=agreement)
    dispatcher.resume()  # re-attach what a killed run left in flight; results land in the ledger
    return dispatcher


class Session:
    """Everything a run holds while it trains."""

    def __init__(self, config: TrainConfig, folder: RunFolder, dispatcher: Dispatcher):
        self.config, self.folder, self.dispatcher = config, folder, dispatcher
        self.device = pick_device(config.loop.device)
        obs_dim, act_dim, low, high = env_dims(config.env)
        q = config.quantum
        self.ansatz = ansatz = HDQNNAnsatz(q.qubits, q.layers, q.entangler)
        width = q.qubits
        self.sampler = HardwareSampler(dispatcher, ansatz, q.shots, config.seed,
                                       config.loop.job_timeout_s)
        # the learner's own jobs (parameter-shift, spsa, exact), counted apart from exploration's
        self.learner_sampler = HardwareSampler(dispatcher, ansatz, q.shots, config.seed + 7919,
                                               config.loop.job_timeout_s, keep_results=False)
        self.td3 = build_td3(config, obs_dim, act_dim, low, high, self.device, self.learner_sampler)
        self.replay = ReplayBuffer(config.td3.buffer_size, obs_dim, act_dim, ansatz.control_dim, width)
        self.pairs = PairBuffer(config.qtdnn.buffer_size, ansatz.control_dim, width)
        self.journal = Journal(folder.journal_path, Layout(obs_dim, act_dim, ansatz.control_dim, width))
        self.learner = Learner(config, self.td3, self.replay, self.pairs, self.device)
        self.learner.fidelity_log.reference = fidelity_reference(dispatcher.provider)
        if self.td3.block is not None and self.td3.block.sends_jobs:
            self.learner.attach_journal(self.journal, self.learner_sampler)  # replayable
        self.explorer = Explorer(config, snapshot_actor(self.td3.actor), self.sampler,
                                 self.replay, self.pairs, self.journal, config.seed)
        self.clock = LoopClock()
        self.threads = thread_plan(config)  # the learner's, explorer's and evaluations' threads
        self.td3.side = side_executor() if self.threads.refit else None
        self.evaluations = Evaluations(config, dispatcher, ansatz, self.journal)

    # -- checkpoints: the learner's side; the transitions are in the journal ---------------
    def checkpoint(self) -> None:
        state = {"td3": self.td3.state_dict(), "transitions": self.explorer.transitions,
                 "vsteps": self.explorer.vsteps, "hardware": self.sampler.state(),
                 "clock": self.clock.state(), "learner_rng": self.learner.rng.bit_generator.state,
                 "learner_torch_rng": self.learner.generator.get_state(),
                 "surrogate": dict(self.learner.last),
                 "learner_hardware": self.learner_sampler.state(),
                 "fidelity": list(self.learner.fidelity_log.rows),
                 "replay_marks": self.learner.marks_with(self.explorer.transitions, KEEP)}
        if self.td3.block is not None and self.td3.block.rng_state() is not None:
            state["block_rng"] = self.td3.block.rng_state()  # SPSA's directions
        self.folder.save_checkpoint(state, self.explorer.transitions)
        self.learner.marks = state["replay_marks"]
        self.dispatcher.ledger.forget_results(self.learner.forget_unreplayable())

    def restore(self) -> None:
        """From any kill point: buffers from the journal, the learner from the newest good
        checkpoint (or fresh when none was written), the explorer where the journal ends."""
        self.folder.repair_metrics()
        self.folder.store.clean()
        state = self.folder.load_checkpoint()
        if state is None and self.journal.vsteps() == 0:
            state = self.folder.store.load_legacy()  # a run from before the journal
            if state is not None:
                return self._restore_legacy(state)
        transitions = self.journal.replay_into(self.replay, self.pairs, self.config.block == "pqc")
        if state is not None:
            self._load_learner(state)
        vsteps = self.journal.vsteps()
        self.explorer.restart(transitions, vsteps)
        self.sampler.stats = self._explore_stats(state, transitions, vsteps)

    def _explore_stats(self, state: dict | None, transitions: int, vsteps: int) -> HardwareStats:
        """Exploration's jobs are its stored steps (one job each): the next request's seed
        follows on from them, so a job sent before the kill is asked for again, identically."""
        old = HardwareStats.from_state(state["hardware"] if state is not None else None)
        if self.config.block != "pqc":
            return old
        return replace(old, jobs=vsteps, circuits=transitions,
                       shots=transitions * self.config.quantum.shots)

    def _load_learner(self, state: dict) -> None:
        self.td3.load_state_dict(state["td3"])
        for key, value in state["clock"].items():
            setattr(self.clock, key, value)
        self.learner.rng.bit_generator.state = state["learner_rng"]
        self.learner.generator.set_state(state["learner_torch_rng"])
        self.learner.last.update(state.get("surrogate", {}))
        self.learner_sampler.stats = HardwareStats.from_state(state.get("learner_hardware"))
        self.learner.fidelity_log.rows = list(state.get("fidelity", []))
        self.learner.marks = [(int(a), int(b)) for a, b in state.get("replay_marks", [])]
        if self.td3.block is not None:
            self.td3.block.set_rng_state(state.get("block_rng"))

    def _restore_legacy(self, state: dict) -> None:
        """A checkpoint with its buffers beside it (runs written before the journal)."""
        self.replay.load(self.folder.checkpoints / "replay.npz")
        self.pairs.load(self.folder.checkpoints / "pairs.npz")
        self._load_learner(state)
        self.explorer.transitions, self.explorer.vsteps = state["transitions"], state["vsteps"]
        self.explorer.obs, _ = self.explorer.envs.reset(seed=self.config.seed + state["vsteps"])
        self.explorer.rng.bit_generator.state = state["explorer_rng"]
        self.sampler.stats = HardwareStats.from_state(state["hardware"])

    # -- evaluations (never on the learner thread) ----------------------------------------
    def evaluate_in_background(self) -> None:
        """The scheduled evaluation, of a snapshot of the learner's actor; named by the step it
        was due at (a multiple of every_steps), so a restart recognises it. One due at the
        run's last step is the final evaluation, which runs once, in `finish`."""
        due = Schedule.of(self.config).evaluation_due(self.explorer.transitions)
        if due is not None:
            self.evaluations.schedule(due, snapshot_actor(self.td3.actor))


def run_training(config: TrainConfig, folder: RunFolder, provider: Provider, *, resume: bool = False,
          progress: Progress | None = None, budget: Budget | None = None,
          agreement: Agreement | None = None, sinks: list[Sink] | None = None) -> RunSummary:
    """Train to config.steps (continuing from the journal and checkpoint when resume), evaluate,
    write the summary and return it. `sinks` receive every batch of metrics rows beside metrics.jsonl (e.g. a
    TensorBoard or CSV writer), on the learner's thread. `agreement`: the caller's consent to
    the run's spend (`qhil.execution.consent.agree`); without it a device that bills is refused.

    A new run creates the folder only after the environment and requests have been validated
    and the spending agreed."""
    validate_run(config, provider)
    agreement = agreement or consent.agree(provider, None, budget, what="the run's jobs")
    if learning_warning(config):
        warn(learning_warning(config))
    if not resume:
        folder.create(config)
    with claim(folder.path, "qhil train"):  # one writer per run folder
        if resume:
            folder.load_config()  # rewritten (e.g. a raised --steps) once the run's files read well
        dispatcher = open_run_dispatcher(folder, provider, budget, agreement)
        try:
            return _train(config, folder, dispatcher, resume, progress, sinks or [])
        finally:
            dispatcher.ledger.close()
            folder.close()
            folder.export_csv()


def _train(config: TrainConfig, folder: RunFolder, dispatcher: Dispatcher, resume: bool,
           progress: Progress | None, sinks: list[Sink]) -> RunSummary:
    s = Session(config, folder, dispatcher)
    try:
        if resume:
            s.restore()
            folder.save_config(config)
            s.evaluations.reopen(s.explorer.transitions, lambda: snapshot_actor(s.td3.actor))
        logger = MetricsLogger(s, progress)
        logger.sinks += sinks
        loop = Loop(config, s.explorer, s.learner, schedule(s, logger), s.clock, s.threads)
        loop.on_tick = logger.tick
        return _loop_and_finish(s, loop, logger)
    finally:
        s.journal.close()


def schedule(s: Session, logger: MetricsLogger) -> list:
    """The loop's scheduled callbacks: metrics rows, checkpoints (by steps and by wall time,
    whichever comes first) and periodic evaluations."""
    c, at = s.config, s.explorer.transitions
    callbacks = [Every(logger.log, steps=c.loop.log_every_steps, after=at),
                 Every(s.checkpoint, steps=c.loop.checkpoint_every_steps,
                       seconds=c.loop.checkpoint_every_s, after=at)]
    if c.eval.every_steps:
        callbacks.append(Every(s.evaluate_in_background, steps=c.eval.every_steps, after=at))
    return callbacks


def _loop_and_finish(s: Session, loop: Loop, logger: MetricsLogger) -> RunSummary:
    loop.publish_policy()
    try:
        loop.run()
        logger.log()
        return finish(s, logger)
    except BudgetExceededError as exc:
        s.checkpoint()
        raise budget_stop_error(exc, str(s.folder.path), s.explorer.transitions) from exc
    except BaseException:
        s.checkpoint()
        raise


def finish(s: Session, logger: MetricsLogger) -> RunSummary:
    """Checkpoint, final evaluation on the provider, summary.json, returns.png, latency.png."""
    s.evaluations.join()
    s.checkpoint()  # the final networks are durable before the final evaluation reads them
    final = f"final-{s.explorer.transitions}"
    returns = s.evaluations.now(final, snapshot_actor(s.td3.actor)) if s.config.eval.final else []
    if returns:
        s.evaluations.add_row(s.explorer.transitions, returns)
    logger.write(s.evaluations.take_rows())
    s.dispatcher.drain(s.config.loop.job_timeout_s)  # re-attached jobs nobody asked for again
    summary = summarise(s, returns)
    s.folder.write_summary(summary)
    plot_run(s)
    return summary


def plot_run(s: Session) -> None:
    """returns.png, latency.png and fidelity.png from the run's metrics and samplers."""
    title = f"{s.config.env} {s.config.block} on {s.config.provider}"
    plot_returns(s.folder.read_metrics(), s.folder.path / "returns.png", title)
    explore, evaluation = s.sampler.stats.latencies_s, s.evaluations.latencies_s
    plot_latency(explore + evaluation, s.folder.path / "latency.png", title,
                 list(range(len(explore), len(explore) + len(evaluation))),
                 s.learner_sampler.stats.latencies_s)
    plot_fidelity(s.folder.read_metrics(), s.folder.path / "fidelity.png",
                  f"{title}, gradient {s.config.quantum.gradient}", s.config.qtdnn.warn_below)


def summarise(s: Session, returns: list[float]) -> RunSummary:
    clock, c = s.clock.state(), s.config
    explore, learn = s.sampler.stats, s.learner_sampler.stats
    whole, walls = fractions(clock, explore.merged(learn)), max(clock["wall_s"], 1e-9)
    log = s.learner.fidelity_log
    return RunSummary(
        summary_version=SUMMARY_VERSION, env=c.env, provider=c.provider, block=c.block,
        seed=c.seed, gradient=c.quantum.gradient if c.block == "pqc" else None,
        mode=c.loop.mode, reproducible=reproducible(c),
        steps=s.explorer.transitions, updates=s.learner.updates,
        actor_updates=s.learner.updates // c.td3.policy_delay, wall_s=clock["wall_s"],
        steps_per_s=s.explorer.transitions / walls, updates_per_s=s.learner.updates / walls,
        learner_s_per_update=clock["learner_busy_s"] / max(s.learner.updates, 1),
        eval_return_mean=float(np.mean(returns)) if returns else None,
        eval_return_std=float(np.std(returns)) if returns else None,
        eval_returns=returns, hw=ledger_hw(s.dispatcher), hw_learner=learn.summary(),
        learner_wait_fraction=whole.learner_wait_fraction,
        env_wait_fraction=fractions(clock, explore).env_wait_fraction,
        qpu_idle_fraction=whole.qpu_idle_fraction,
        **log.summary().model_dump(), **utd_figures(s),
        surrogate_loss=s.learner.last.get("surrogate/loss"),
        threads=ThreadSummary(**asdict(s.threads),
                              omp_wait_policy=os.environ.get("OMP_WAIT_POLICY")),
        learner_replayed=LearnerReplayed(updates=s.learner.replayed,  # this session's
                                         mismatched=s.learner.replay_mismatches),
        warnings=[w for w in (learning_warning(c), log.warning(), behind_warning(s),
                              replay_warning(s)) if w],
        clock=ClockSummary(**clock))


def utd_figures(s: Session) -> dict[str, Any]:
    """The update-to-data ratio achieved (updates per vector step after learning started), the
    config's, and the updates that ran only after exploration ended (the learner was behind)."""
    learned = s.explorer.vsteps - Schedule.of(s.config).warm_vector_steps
    return {"utd_ratio": s.learner.updates / learned if learned > 0 else None,
            "utd_ratio_target": s.config.td3.updates_per_step,
            "catch_up_updates": int(s.clock.catch_up_updates)}


def replay_warning(s: Session) -> str | None:
    """Said when a restored learner's replayed update asked other questions than recorded
    (its jobs were bought again): the networks did not come back bit for bit."""
    if not s.learner.replay_mismatches:
        return None
    return (f"{s.learner.replay_mismatches} of the {s.learner.replayed} learner updates replayed "
            f"after the restart sent other requests than before the kill (bought again); "
            f"report it with the run's config")


def behind_warning(s: Session) -> str | None:
    """Said when more than 5% of the updates ran after the explorer's last step."""
    late, updates = int(s.clock.catch_up_updates), s.learner.updates
    if late <= 0.05 * updates:
        return None
    return (f"the learner fell behind: {late:,} of {updates:,} updates ran after exploration "
            f"ended, on data the explorer had long collected; a lower [loop] max_policy_lag "
            f"(now {s.config.loop.max_policy_lag}) makes the explorer wait sooner")
