"""A training run end to end: build, (resume,) loop, checkpoint, evaluate, summarise, plot."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from qhil.config import ProviderProfile
from qhil.errors import BudgetExceededError, ConfigError
from qhil.execution.budget import Budget
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger
from qhil.execution.provider import Provider
from qhil.progress import warn
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.gradients import circuits_per_sample
from qhil.rl.buffers import PairBuffer, ReplayBuffer
from qhil.rl.config import TrainConfig, dump_toml
from qhil.rl.envs import make_envs
from qhil.rl.explorer import Explorer, evaluate
from qhil.rl.hardware import HardwareSampler, HardwareStats
from qhil.rl.learner import Learner, build_td3
from qhil.rl.loop import Loop, LoopClock, Progress, interrupted_message, snapshot_actor
from qhil.rl.plots import plot_fidelity, plot_latency, plot_returns
from qhil.rl.rundir import RunFolder


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


def open_dispatcher(folder: RunFolder, provider: Provider, limits: Budget | None) -> Dispatcher:
    """The run's Dispatcher: its ledger in the run folder, its budget seeded with what was spent."""
    ledger = Ledger(folder.path / "ledger.sqlite")
    cap = limits.limit if limits is not None else None
    budget = Budget(shots=cap and cap.shots, usd=cap and cap.cost_usd, jobs=cap and cap.jobs,
                    spent=ledger.spent(provider.name))
    dispatcher = Dispatcher(provider, ledger=ledger, budget=budget)
    dispatcher.resume()  # re-attach what a killed run left in flight; results land in the ledger
    return dispatcher


class Session:
    """Everything a run holds while it trains."""

    def __init__(self, config: TrainConfig, folder: RunFolder, dispatcher: Dispatcher):
        self.config, self.folder = config, folder
        self.device = pick_device(config.loop.device)
        obs_dim, act_dim, low, high = env_dims(config.env)
        q = config.quantum
        ansatz = HDQNNAnsatz(q.qubits, q.layers, q.entangler)
        width = q.qubits
        self.sampler = HardwareSampler(dispatcher, ansatz, q.shots, config.seed,
                                       config.loop.job_timeout_s)
        # the learner's own jobs (parameter-shift, spsa, exact), counted apart from exploration's
        self.learner_sampler = HardwareSampler(dispatcher, ansatz, q.shots, config.seed + 7919,
                                               config.loop.job_timeout_s, keep_results=False)
        self.td3 = build_td3(config, obs_dim, act_dim, low, high, self.device, self.learner_sampler)
        self.replay = ReplayBuffer(config.td3.buffer_size, obs_dim, act_dim, ansatz.control_dim, width)
        self.pairs = PairBuffer(config.qtdnn.buffer_size, ansatz.control_dim, width)
        self.learner = Learner(config, self.td3, self.replay, self.pairs, self.device)
        self.learner.fidelity_log.reference = fidelity_reference(dispatcher.provider)
        self.explorer = Explorer(config, snapshot_actor(self.td3.actor), self.sampler,
                                 self.replay, self.pairs, config.seed)
        self.clock = LoopClock()
        self.eval_rows: list[dict[str, Any]] = []
        self.eval_thread: threading.Thread | None = None

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint(self) -> None:
        state = {"td3": self.td3.state_dict(), "transitions": self.explorer.transitions,
                 "vsteps": self.explorer.vsteps, "hardware": self.sampler.state(),
                 "clock": self.clock.state(), "learner_rng": self.learner.rng.bit_generator.state,
                 "learner_torch_rng": self.learner.generator.get_state(),
                 "explorer_rng": self.explorer.rng.bit_generator.state,
                 "surrogate": dict(self.learner.last),
                 "learner_hardware": self.learner_sampler.state(),
                 "fidelity": list(self.learner.fidelity_log.rows)}
        self.folder.save_checkpoint(state, self.replay, self.pairs)

    def restore(self) -> None:
        state = self.folder.load_checkpoint(self.replay, self.pairs)
        self.td3.load_state_dict(state["td3"])
        self.explorer.transitions, self.explorer.vsteps = state["transitions"], state["vsteps"]
        self.explorer.obs, _ = self.explorer.envs.reset(seed=self.config.seed + state["vsteps"])
        self.sampler.stats = HardwareStats(**state["hardware"])
        if self.sampler.budget is not None:  # the ledger knows spending after the checkpoint too
            self.sampler.stats.cost_usd = float(self.sampler.budget.spent().cost_usd)
        for key, value in state["clock"].items():
            setattr(self.clock, key, value)
        self.learner.rng.bit_generator.state = state["learner_rng"]
        self.learner.generator.set_state(state["learner_torch_rng"])
        self.explorer.rng.bit_generator.state = state["explorer_rng"]
        self.learner.last.update(state.get("surrogate", {}))
        self.learner_sampler.stats = HardwareStats(**state.get("learner_hardware", {}))
        self.learner.fidelity_log.rows = list(state.get("fidelity", []))

    # -- evaluation (never on the learner thread) -------------------------------------------
    def evaluate_now(self, episodes: int) -> list[float]:
        actor = snapshot_actor(self.td3.actor)
        with ThreadPoolExecutor(1, thread_name_prefix="qhil-eval") as pool:
            return pool.submit(evaluate, self.config, actor, self.sampler, episodes,
                               self.config.seed + 10_000).result()

    def evaluate_in_background(self) -> None:
        if self.eval_thread is not None and self.eval_thread.is_alive():
            return
        actor, step = snapshot_actor(self.td3.actor), self.explorer.transitions

        def work() -> None:
            returns = evaluate(self.config, actor, self.sampler, self.config.eval.episodes,
                               self.config.seed + 10_000, show_progress=False)
            self.eval_rows.append({"step": step, "eval/return_mean": float(np.mean(returns)),
                                   "eval/return_std": float(np.std(returns))})

        self.eval_thread = threading.Thread(target=work, name="qhil-eval", daemon=True)
        self.eval_thread.start()


class MetricsLogger:
    """metrics.jsonl rows, periodic checkpoints and evaluations, and the progress callback."""

    def __init__(self, s: Session, progress: Progress | None):
        self.s = s
        self.progress = progress
        self.last_progress = 0.0
        self.returns: deque[float] = deque(maxlen=10)
        self.last = {"time": time.perf_counter(), "step": s.explorer.transitions,
                     "updates": s.learner.updates, "jobs": s.sampler.stats.jobs}
        c = s.config
        self.next_ckpt = (s.explorer.transitions // c.loop.checkpoint_every_steps + 1) * c.loop.checkpoint_every_steps
        every = c.eval.every_steps
        self.next_eval = (s.explorer.transitions // every + 1) * every if every else None

    def log(self) -> None:
        s, step = self.s, self.s.explorer.transitions
        episodes = s.explorer.drain_episodes()
        self.returns.extend(r for _, r, _ in episodes)
        rows = [{"step": st, "charts/episodic_return": r, "charts/episodic_length": n}
                for st, r, n in episodes]
        rows += s.eval_rows
        s.eval_rows = []
        rows.append(self.row())
        s.folder.append_metrics(rows)
        if step >= self.next_ckpt:
            s.checkpoint()
            self.next_ckpt += s.config.loop.checkpoint_every_steps
        if self.next_eval is not None and step >= self.next_eval:
            s.evaluate_in_background()
            self.next_eval += s.config.eval.every_steps
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
               "hw/jobs": stats.jobs, "hw/shots": stats.shots, "hw/cost_usd": stats.cost_usd,
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
          progress: Progress | None = None, budget: Budget | None = None) -> dict[str, Any]:
    """Train to config.steps (continuing a checkpoint when resume), evaluate, write the summary.

    A new run creates the folder only after the environment and requests have been validated."""
    torch.set_num_threads(1)  # small nets: more threads only contend (CUDA does the heavy lifting)
    preflight(config, provider)
    if learning_warning(config):
        warn(learning_warning(config))
    if resume:
        folder.load_config()
        folder.config_path.write_text(dump_toml(config))  # e.g. a raised --steps
    else:
        folder.create(config)
    dispatcher = open_dispatcher(folder, provider, budget)
    try:
        return _train(config, folder, dispatcher, resume, progress)
    finally:
        dispatcher.ledger.close()
        folder.close()
        folder.export_csv()


def _train(config: TrainConfig, folder: RunFolder, dispatcher: Dispatcher, resume: bool,
           progress: Progress | None) -> dict[str, Any]:
    s = Session(config, folder, dispatcher)
    if resume:
        s.restore()
    logger = MetricsLogger(s, progress)
    loop = Loop(config, s.explorer, s.learner, logger.log, s.clock)
    loop.on_tick = logger.tick
    loop.publish_policy()
    try:
        loop.run()
        logger.log()
        return finish(s)
    except BudgetExceededError as exc:
        s.checkpoint()
        raise interrupted_message(exc, str(folder.path), s.explorer.transitions) from exc
    except BaseException:
        s.checkpoint()
        raise


def finish(s: Session) -> dict[str, Any]:
    """Final evaluation on the provider, summary.json, returns.png and latency.png."""
    if s.eval_thread is not None:
        s.eval_thread.join()
    returns = s.evaluate_now(s.config.eval.episodes) if s.config.eval.episodes else []
    rows = s.eval_rows + ([{"step": s.explorer.transitions, "eval/return_mean": float(np.mean(returns)),
                            "eval/return_std": float(np.std(returns))}] if returns else [])
    s.folder.append_metrics(rows)
    s.checkpoint()  # the evaluation's hardware use is part of the run's account
    summary = summarise(s, returns)
    s.folder.write_summary(summary)
    title = f"{s.config.env} {s.config.block} on {s.config.provider}"
    plot_returns(s.folder.read_metrics(), s.folder.path / "returns.png", title)
    plot_latency(s.sampler.stats.latencies_s, s.folder.path / "latency.png", title,
                 s.sampler.stats.eval_jobs, s.learner_sampler.stats.latencies_s)
    plot_fidelity(s.folder.read_metrics(), s.folder.path / "fidelity.png",
                  f"{title}, gradient {s.config.quantum.gradient}", s.config.qtdnn.warn_below)
    return summary


def summarise(s: Session, returns: list[float]) -> dict[str, Any]:
    clock, c = s.clock.state(), s.config
    explore, learn = s.sampler.stats, s.learner_sampler.stats
    total = explore.merged(learn)
    last, log = s.learner.last, s.learner.fidelity_log
    return {
        "env": c.env, "provider": c.provider, "block": c.block, "seed": c.seed,
        "gradient": c.quantum.gradient if c.block == "pqc" else None,
        "steps": s.explorer.transitions, "updates": s.learner.updates,
        "actor_updates": s.learner.updates // c.td3.policy_delay,
        "wall_s": clock["wall_s"], "steps_per_s": s.explorer.transitions / max(clock["wall_s"], 1e-9),
        "updates_per_s": s.learner.updates / max(clock["wall_s"], 1e-9),
        "learner_s_per_update": clock["learner_busy_s"] / max(s.learner.updates, 1),
        "eval_return_mean": float(np.mean(returns)) if returns else None,
        "eval_return_std": float(np.std(returns)) if returns else None,
        "eval_returns": returns, "hw": total.summary(), "hw_learner": learn.summary(),
        "learner_wait_fraction": fractions(clock, total)["loop/learner_wait_fraction"],
        "env_wait_fraction": fractions(clock, explore)["loop/env_wait_fraction"],
        "qpu_idle_fraction": fractions(clock, total)["loop/qpu_idle_fraction"],
        **log.summary(),
        "surrogate_loss": last.get("surrogate/loss"),
        "mode": c.loop.mode, "reproducible": reproducible(c),
        "warnings": [w for w in (learning_warning(c), log.warning()) if w],
        "clock": clock,
    }
