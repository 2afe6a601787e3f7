"""A training run end to end: build, (resume,) loop, checkpoint, evaluate, summarise, plot."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
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
from qhil.rl.hardware import HardwareSampler, HardwareStats
from qhil.rl.journal import Journal, Layout
from qhil.rl.learner import Learner, build_td3
from qhil.rl.loop import (
    Every,
    Loop,
    LoopClock,
    Progress,
    interrupted_message,
    snapshot_actor,
    thread_plan,
)
from qhil.rl.plots import plot_fidelity, plot_latency, plot_returns
from qhil.rl.rundir import RunFolder, clean
from qhil.rl.schedule import Schedule
from qhil.rl.summary import RunSummary
from qhil.runlock import claim


def pick_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def env_dims(env_id: str) -> tuple[int, int, np.ndarray, np.ndarray]:
    envs = make_envs(env_id, 1)
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    envs.close()
    return int(np.prod(obs_space.shape)), int(np.prod(act_space.shape)), act_space.low, act_space.high


def preflight(config: TrainConfig, provider: Provider) -> None:
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
        old = HardwareStats(**state["hardware"]) if state is not None else HardwareStats()
        if self.config.block != "pqc":
            return old
        return replace(old, jobs=vsteps, circuits=transitions,
                       shots=transitions * self.config.quantum.shots,
                       cost_usd=float(self.dispatcher.budget.spent().cost_usd))

    def _load_learner(self, state: dict) -> None:
        self.td3.load_state_dict(state["td3"])
        for key, value in state["clock"].items():
            setattr(self.clock, key, value)
        self.learner.rng.bit_generator.state = state["learner_rng"]
        self.learner.generator.set_state(state["learner_torch_rng"])
        self.learner.last.update(state.get("surrogate", {}))
        self.learner_sampler.stats = HardwareStats(**state.get("learner_hardware", {}))
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
        self.sampler.stats = HardwareStats(**state["hardware"])

    # -- evaluations (never on the learner thread) ----------------------------------------
    def evaluate_in_background(self) -> None:
        """The scheduled evaluation, of a snapshot of the learner's actor; named by the step it
        was due at (a multiple of every_steps), so a restart recognises it. One due at the
        run's last step is the final evaluation, which runs once, in `finish`."""
        due = Schedule.of(self.config).evaluation_due(self.explorer.transitions)
        if due is not None:
            self.evaluations.schedule(due, snapshot_actor(self.td3.actor))


Sink = Callable[[list[dict[str, Any]]], None]  # a batch of metrics rows


class MetricsLogger:
    """metrics.jsonl rows (and any extra sink's) and the progress callback.

    `sinks` receive every batch of rows; metrics.jsonl is the first. A TensorBoard or CSV writer
    attaches with `logger.sinks.append(fn)`; it runs on the learner's thread, every log step."""

    def __init__(self, s: Session, progress: Progress | None):
        self.s = s
        self.progress = progress
        self.sinks: list[Sink] = [s.folder.append_metrics]
        # the hw/... figures of each row: the run's ledger (qhil.distributed adds its explorers')
        self.figures: Callable[[], dict[str, Any]] = lambda: ledger_figures(s.dispatcher)
        self.last_progress = 0.0
        self.returns: deque[float] = deque(maxlen=10)
        self.last = {"time": time.perf_counter(), "step": s.explorer.transitions,
                     "updates": s.learner.updates, "jobs": s.sampler.stats.jobs}

    def log(self) -> None:
        s = self.s
        episodes = s.explorer.drain_episodes()
        self.returns.extend(r for _, r, _ in episodes)
        rows = [{"step": st, "charts/episodic_return": r, "charts/episodic_length": n}
                for st, r, n in episodes]
        rows += s.evaluations.rows
        s.evaluations.rows = []
        rows.append(self.row())
        for sink in self.sinks:
            sink(rows)
        self.tick(force=True)

    def row(self) -> dict[str, Any]:
        s, now = self.s, time.perf_counter()
        stats, clock = s.sampler.stats, s.clock.state()
        dt = max(now - self.last["time"], 1e-9)
        new_lat = stats.latencies_s[self.last["jobs"]:]
        row = {"step": s.explorer.transitions, "updates": s.learner.updates,
               "time/wall_s": clock["wall_s"],
               "charts/SPS": (s.explorer.transitions - self.last["step"]) / dt,
               "charts/updates_per_s": (s.learner.updates - self.last["updates"]) / dt,
               **self.figures(),
               "hw/latency_s": float(np.mean(new_lat)) if new_lat else None,
               "hw/jobs_in_flight": s.sampler.in_flight, **fractions(clock, stats),
               **learner_hw(s.learner_sampler.stats),
               "loop/policy_lag": s.learner.updates - s.explorer.policy_version,
               **{k: v for k, v in s.learner.last.items()}}
        self.last = {"time": now, "step": s.explorer.transitions, "updates": s.learner.updates,
                     "jobs": stats.jobs}
        return row

    def tick(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.progress is None or (not force and now - self.last_progress < 0.5):
            return
        self.last_progress = now
        s = self.s
        self.progress({"step": s.explorer.transitions, "steps": s.config.steps,
                       "updates": s.learner.updates, "wall_s": s.clock.state()["wall_s"],
                       "recent_return": float(np.mean(self.returns)) if self.returns else None,
                       "shots": s.sampler.stats.shots, "cost_usd": s.sampler.stats.cost_usd,
                       "jobs_in_flight": s.sampler.in_flight,
                       "warning": s.learner.fidelity_log.warning()})


def ledger_figures(dispatcher: Dispatcher) -> dict[str, Any]:
    """The run's hardware use as its ledger counts it (every purpose, every session)."""
    totals = dispatcher.ledger.totals(dispatcher.provider.name)
    return {"hw/jobs": totals.jobs, "hw/shots": totals.shots,
            "hw/cost_usd": float(totals.cost_usd)}


def learner_hw(stats: HardwareStats) -> dict[str, Any]:
    """The learner's own hardware use (gradient methods that send circuits)."""
    return {"hw/learner_jobs": stats.jobs, "hw/learner_circuits": stats.circuits,
            "hw/learner_shots": stats.shots, "hw/learner_busy_s": stats.busy_s}


def fractions(clock: dict[str, float], stats: HardwareStats) -> dict[str, float]:
    """Learner wait (1 - busy share of the learning phase), env wait and QPU idle (whole run)."""
    wall = max(clock["wall_s"], 1e-9)
    learn = clock["learn_wall_s"]
    busy = clock.get("learner_busy_s", 0.0)
    return {"loop/learner_wait_fraction": max(0.0, 1 - busy / learn) if learn > 0 else None,
            "loop/env_wait_fraction": min(1.0, clock["env_wait_s"] / wall),
            "loop/qpu_idle_fraction": max(0.0, 1.0 - stats.busy_s / wall)}


def train(config: TrainConfig, folder: RunFolder, provider: Provider, *, resume: bool = False,
          progress: Progress | None = None, budget: Budget | None = None,
          agreement: Agreement | None = None, sinks: list[Sink] | None = None) -> dict[str, Any]:
    """Train to config.steps (continuing from the journal and checkpoint when resume), evaluate,
    write the summary. `sinks` receive every batch of metrics rows beside metrics.jsonl (e.g. a
    TensorBoard or CSV writer), on the learner's thread. `agreement`: the caller's consent to
    the run's spend (`qhil.execution.consent.agree`); without it a device that bills is refused.

    A new run creates the folder only after the environment and requests have been validated
    and the spending agreed."""
    preflight(config, provider)
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
           progress: Progress | None, sinks: list[Sink]) -> dict[str, Any]:
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


def _loop_and_finish(s: Session, loop: Loop, logger: MetricsLogger) -> dict[str, Any]:
    loop.publish_policy()
    try:
        loop.run()
        logger.log()
        return finish(s)
    except BudgetExceededError as exc:
        s.checkpoint()
        raise interrupted_message(exc, str(s.folder.path), s.explorer.transitions) from exc
    except BaseException:
        s.checkpoint()
        raise


def finish(s: Session) -> dict[str, Any]:
    """Checkpoint, final evaluation on the provider, summary.json, returns.png, latency.png."""
    s.evaluations.join()
    s.checkpoint()  # the final networks are durable before the final evaluation reads them
    final = f"final-{s.explorer.transitions}"
    returns = s.evaluations.now(final, snapshot_actor(s.td3.actor)) if s.config.eval.final else []
    rows = s.evaluations.rows + ([{"step": s.explorer.transitions, "eval/return_mean": float(np.mean(returns)),
                            "eval/return_std": float(np.std(returns))}] if returns else [])
    s.folder.append_metrics(rows)
    s.dispatcher.drain(s.config.loop.job_timeout_s)  # re-attached jobs nobody asked for again
    summary = summarise(s, returns)
    s.folder.write_summary(summary)
    summary = summary.to_json()
    title = f"{s.config.env} {s.config.block} on {s.config.provider}"
    plot_returns(s.folder.read_metrics(), s.folder.path / "returns.png", title)
    explore, evaluation = s.sampler.stats.latencies_s, s.evaluations.latencies_s
    plot_latency(explore + evaluation, s.folder.path / "latency.png", title,
                 list(range(len(explore), len(explore) + len(evaluation))),
                 s.learner_sampler.stats.latencies_s)
    plot_fidelity(s.folder.read_metrics(), s.folder.path / "fidelity.png",
                  f"{title}, gradient {s.config.quantum.gradient}", s.config.qtdnn.warn_below)
    return summary


def ledger_hw(dispatcher: Dispatcher) -> dict[str, Any]:
    """Jobs, circuits, shots, dollars and round-trip latency, from the run's ledger."""
    ledger, name = dispatcher.ledger, dispatcher.provider.name
    totals, latency = ledger.totals(name), ledger.latency_stats(name).round_trip_s
    return {"jobs": totals.jobs, "circuits": totals.circuits, "shots": totals.shots,
            "cost_usd": round(float(totals.cost_usd), 6),
            "latency_p50_s": latency.p50, "latency_p95_s": latency.p95}


def summarise(s: Session, returns: list[float]) -> RunSummary:
    clock, c = s.clock.state(), s.config
    explore, learn = s.sampler.stats, s.learner_sampler.stats
    total = explore.merged(learn)
    hw = ledger_hw(s.dispatcher)
    last, log = s.learner.last, s.learner.fidelity_log
    return RunSummary.model_validate(clean({
        "env": c.env, "provider": c.provider, "block": c.block, "seed": c.seed,
        "gradient": c.quantum.gradient if c.block == "pqc" else None,
        "steps": s.explorer.transitions, "updates": s.learner.updates,
        "actor_updates": s.learner.updates // c.td3.policy_delay,
        "wall_s": clock["wall_s"], "steps_per_s": s.explorer.transitions / max(clock["wall_s"], 1e-9),
        "updates_per_s": s.learner.updates / max(clock["wall_s"], 1e-9),
        "learner_s_per_update": clock["learner_busy_s"] / max(s.learner.updates, 1),
        "eval_return_mean": float(np.mean(returns)) if returns else None,
        "eval_return_std": float(np.std(returns)) if returns else None,
        "eval_returns": returns, "hw": hw, "hw_learner": learn.summary(),
        "learner_wait_fraction": fractions(clock, total)["loop/learner_wait_fraction"],
        "env_wait_fraction": fractions(clock, explore)["loop/env_wait_fraction"],
        "qpu_idle_fraction": fractions(clock, total)["loop/qpu_idle_fraction"],
        **log.summary(), **utd_figures(s),
        "surrogate_loss": last.get("surrogate/loss"),
        "mode": c.loop.mode, "reproducible": reproducible(c),
        "threads": {**asdict(s.threads), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")},
        "learner_replayed": {"updates": s.learner.replayed,
                             "mismatched": s.learner.replay_mismatches},  # this session's
        "warnings": [w for w in (learning_warning(c), log.warning(), behind_warning(s),
                                 replay_warning(s)) if w],
        "clock": clock,
    }))


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
