"""Exploration and evaluation: the actor's forward passes that touch environments and hardware.

`Explorer.step()` is one vector step: act (PreDNN), hardware sample (one job, every env's
circuit), PostDNN + exploration noise, environment step, store (s, a, r, s', done, q_i, q_o).
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np
import torch

from qhil.progress import Bar
from qhil.rl.buffers import PairBuffer, ReplayBuffer
from qhil.rl.config import TrainConfig
from qhil.rl.envs import finished_episodes, make_envs, real_next_obs
from qhil.rl.journal import Journal
from qhil.rl.networks import Actor
from qhil.rl.sampler import HardwareSampler


def act(actor: Actor, obs: np.ndarray, sampler: HardwareSampler | None,
        generator: torch.Generator, purpose: str = "explore",
        control_noise: float = 0.0) -> tuple[np.ndarray, ...]:
    """hDQNN action; the pqc block's forward value is the hardware's marginals.

    `control_noise` jitters the circuits' angles (exploration only; the jittered q_i is stored).
    """
    q_in, clinks = controls(actor, obs, generator, control_noise)
    return respond(actor, q_in, clinks, sampler, generator, purpose)


def controls(actor: Actor, obs: np.ndarray, generator: torch.Generator,
             control_noise: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """PreDNN: the circuits' controls q_i (jittered by `control_noise`) and the c-links."""
    with torch.no_grad():
        q_in, clinks = actor.controls(torch.as_tensor(obs, dtype=torch.float32))
        if control_noise > 0:
            cols = actor.control_map.angle_columns()
            q_in[:, cols] += control_noise * torch.randn(len(q_in), len(cols), generator=generator)
    return q_in, clinks


def respond(actor: Actor, q_in: torch.Tensor, clinks: torch.Tensor,
            sampler: HardwareSampler | None, generator: torch.Generator,
            purpose: str = "explore") -> tuple[np.ndarray, ...]:
    """Hardware sample (pqc), T-block and PostDNN: (actions, q_i, q_o) as numpy."""
    with torch.no_grad():
        y_hw = None
        if actor.block == "pqc":
            y_hw = torch.from_numpy(sampler.sample(q_in.numpy(), purpose))
        y = actor.t_block(q_in, y_hw, generator)
        return actor.finish(y, clinks).numpy(), q_in.numpy(), y.numpy()


class Explorer:
    """Owns the training environments and an immutable CPU snapshot of the actor (the live actor
    in the sync loop on the CPU, where no update runs under its forward).

    Every step is stored in the journal before the learner can sample it (replay, pairs)."""

    def __init__(self, config: TrainConfig, actor: Actor, sampler: HardwareSampler,
                 replay: ReplayBuffer, pairs: PairBuffer, journal: Journal, seed: int):
        self.config = config
        self.actor = actor
        self.sampler = sampler
        self.replay, self.pairs, self.journal = replay, pairs, journal
        self.envs = make_envs(config.env, config.num_envs)
        self.obs, _ = self.envs.reset(seed=seed)
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.transitions = 0
        self.vsteps = 0
        self.episodes: deque[tuple[int, float, int]] = deque()
        self.policy_version = -1
        self.adopt: np.ndarray | None = None  # controls of a job sent before a restart
        self.lock = threading.Lock()

    def load_policy(self, actor: Actor, version: int) -> None:
        """Hand-over by snapshot swap: `actor` is a fresh copy nobody writes to; the running
        step keeps the one it started with."""
        self.actor = actor
        self.policy_version = version

    def restart(self, transitions: int, vsteps: int) -> None:
        """After a restart: counters from the journal, fresh episodes (seeded by the step), and
        the job a killed process had sent for the next step, to be adopted, not bought again."""
        self.transitions, self.vsteps = transitions, vsteps
        self.obs, _ = self.envs.reset(seed=self.config.seed + vsteps)
        self.rng = np.random.default_rng(self.config.seed + vsteps)
        self.generator.manual_seed(self.config.seed + vsteps)
        self.adopt = self.journal.pending()

    def step(self) -> int:
        """One vector step; returns the number of transitions stored."""
        actor = self.actor  # this step's snapshot, whatever the learner publishes meanwhile
        q_in, clinks = controls(actor, self.obs, self.generator, self.config.qtdnn.control_noise)
        if self.adopt is not None and len(self.adopt) == len(q_in):
            q_in, self.adopt = torch.from_numpy(np.array(self.adopt, dtype=np.float32)), None
        if actor.block == "pqc":
            self.journal.intend(self.vsteps, q_in.numpy())
        actions, q_in, q_out = respond(actor, q_in, clinks, self.sampler, self.generator)
        actions = self._explore(actions)
        next_obs, rewards, terminated, truncated, info = self.envs.step(actions)
        rows = {"obs": self.obs, "actions": actions, "rewards": rewards,
                "next_obs": real_next_obs(next_obs, info), "dones": terminated,
                "q_in": q_in, "q_out": q_out}
        ended = [(self.transitions + len(actions), ret, n) for _, ret, n in finished_episodes(info)]
        self.journal.append(self.vsteps, rows, ended)  # durable before anyone samples it
        self._store(rows, actor.block == "pqc")
        self.obs = next_obs
        with self.lock:
            self.transitions += len(actions)
            self.vsteps += 1
            self.episodes.extend(ended)
        return len(actions)

    def _store(self, rows: dict[str, np.ndarray], pqc: bool) -> None:
        self.replay.add(**rows)
        if pqc:
            self.pairs.add(q_in=rows["q_in"], q_out=rows["q_out"])

    def drain_episodes(self) -> list[tuple[int, float, int]]:
        with self.lock:
            out = list(self.episodes)
            self.episodes.clear()
        return out

    def close(self) -> None:
        self.envs.close()

    def _explore(self, actions: np.ndarray) -> np.ndarray:
        space = self.envs.single_action_space
        if self.transitions < self.config.td3.learning_starts:
            return self.rng.uniform(space.low, space.high, size=actions.shape).astype(np.float32)
        scale = (space.high - space.low) / 2 * self.config.td3.exploration_noise
        noisy = actions + self.rng.normal(0.0, 1.0, size=actions.shape) * scale
        return np.clip(noisy, space.low, space.high).astype(np.float32)


def evaluate(config: TrainConfig, actor: Actor, sampler: HardwareSampler | None,
             episodes: int, seed: int, show_progress: bool = True) -> list[float]:
    """Deterministic returns of `episodes` episodes, run side by side (one job per step); a
    progress bar over the episode's step limit on stderr unless `show_progress` is off."""
    envs = make_envs(config.env, episodes)
    obs, _ = envs.reset(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    returns: dict[int, float] = {}
    bar = Bar(f"evaluation ({episodes} episodes side by side)", episode_limit(envs), "steps",
              quiet=None if show_progress else True)
    try:
        while len(returns) < episodes:
            actions = act(actor, obs, sampler, generator, purpose="evaluate")[0]
            obs, _, _, _, info = envs.step(actions)
            for i, ret, _ in finished_episodes(info):
                returns.setdefault(i, ret)
            bar.advance(1, f"{len(returns)}/{episodes} episodes done")
    finally:
        envs.close()
        bar.close()
    return [returns[i] for i in sorted(returns)]


def episode_limit(envs) -> int:
    """The environments' episode step limit (TimeLimit), 1000 when the spec names none."""
    spec = getattr(envs.envs[0], "spec", None)
    return int(getattr(spec, "max_episode_steps", None) or 1000)


def evaluate_random(env_id: str, episodes: int, seed: int) -> list[float]:
    """Returns of a uniform-random policy on the same episodes (same reset seed) as
    `evaluate`: the baseline a trained policy has to beat."""
    envs = make_envs(env_id, episodes)
    obs, _ = envs.reset(seed=seed)
    envs.action_space.seed(seed)
    returns: dict[int, float] = {}
    try:
        while len(returns) < episodes:
            _, _, _, _, info = envs.step(envs.action_space.sample())
            for i, ret, _ in finished_episodes(info):
                returns.setdefault(i, ret)
    finally:
        envs.close()
    return [returns[i] for i in sorted(returns)]
