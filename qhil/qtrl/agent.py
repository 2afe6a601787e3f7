"""One agent of Dist-QTRL. Per episode: check that every agent can pay its next job (with
--provider and a budget), generate theta (exact or from shots through the Dispatcher), play one
episode in its own environment, REINFORCE gradient, all_reduce-average it with every agent,
apply the same Adam update. Agent 0 logs, checkpoints and writes the summary. When the budget
cannot pay another episode, every agent stops after the same episode and agent 0 checkpoints it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist

from qhil.layers.gradients import straight_through
from qhil.progress import Bar
from qhil.qtrl.circuit import ShotSampler
from qhil.qtrl.config import QTRLConfig
from qhil.qtrl.envs import ENVS, make_env
from qhil.qtrl.generator import ClassicalWeights, PolicyShape, QTGenerator, trainable_parameters
from qhil.qtrl.reinforce import reinforce_loss, rollout
from qhil.qtrl.runfolder import QTRLRunFolder
from qhil.qtrl.spending import JobCost, can_afford


def build_model(config: QTRLConfig) -> tuple[PolicyShape, torch.nn.Module]:
    """The policy shape and its trainable model (same parameters for the same seed)."""
    obs_dim, actions = ENVS[config.env]
    shape = PolicyShape(obs_dim, config.hidden, actions)
    gen = torch.Generator().manual_seed(config.seed)
    if config.policy == "classical":
        return shape, ClassicalWeights(shape, gen)
    return shape, QTGenerator(shape.n_weights, config.blocks, tuple(config.mapping_hidden), gen,
                              config.entangler)


def episode_seed(config: QTRLConfig, rank: int, episode: int) -> int:
    """Independent seed per (run seed, agent, episode): a resumed run replays the same streams."""
    return int(np.random.SeedSequence([config.seed, rank, episode]).generate_state(1)[0])


@dataclass
class Agent:
    """State of one agent process; `world` is 1 when no process group is initialised."""

    config: QTRLConfig
    folder: QTRLRunFolder
    rank: int = 0
    world: int = 1
    sampler: ShotSampler | None = None
    start_episode: int = 1
    wall_offset_s: float = 0.0
    started_s: float = field(default_factory=time.perf_counter)
    stopped: str | None = None

    def __post_init__(self) -> None:
        self.shape, self.model = build_model(self.config)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.lr)
        self.env = make_env(self.config.env)
        self._restore()
        self._broadcast_parameters()
        self.job_cost = JobCost.of(self.sampler.dispatcher.provider, self.model,
                                   self.config.shots) if self.sampler else None

    def train(self) -> None:
        self.started_s = time.perf_counter()
        episode = self.start_episode - 1
        bar = Bar(f"qtrl ({self.world} agents)", self.config.episodes, "episodes",
                  done=episode, quiet=None if self.rank == 0 else True)
        for episode in range(self.start_episode, self.config.episodes + 1):
            if not self._every_agent_can_pay():
                self.stopped = f"budget reached after episode {episode - 1}"
                episode -= 1
                break
            total_reward, steps, loss = self.step(episode)
            mean_return = self._log(episode, total_reward, steps, loss)
            bar.update(episode, f"return {mean_return:.2f}")
            if episode % self.config.checkpoint_every == 0 or episode == self.config.episodes:
                self._checkpoint(episode)
        bar.close()
        if self.stopped and episode >= self.start_episode:
            self._checkpoint(episode)
        self.folder.close()  # the TensorBoard event file
        self.write_agent_file(done=True)

    def _every_agent_can_pay(self) -> bool:
        """The episode gate: one MIN all_reduce of "my budget covers my next job"."""
        if self.sampler is None:
            return True
        ok = can_afford(self.sampler.dispatcher.budget, self.job_cost)
        if self.world == 1:
            return ok
        flag = torch.tensor([1 if ok else 0], dtype=torch.int64, device=_comm_device())
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    def step(self, episode: int) -> tuple[float, int, float]:
        """One synchronised update: generate, act, gradient, average, apply."""
        seed = episode_seed(self.config, self.rank, episode)
        theta = self.model(self._probabilities(seed))
        generator = torch.Generator().manual_seed(seed)
        trajectory = rollout(self.env, self.shape, theta, seed % 2**31, generator)
        loss = reinforce_loss(self.shape, theta, trajectory, self.config.gamma)
        self.optimizer.zero_grad()
        loss.backward()
        self._average_gradients()
        self.optimizer.step()
        return trajectory.total_reward, len(trajectory.rewards), float(loss.detach())

    def _probabilities(self, seed: int) -> torch.Tensor | None:
        if self.sampler is None or not isinstance(self.model, QTGenerator):
            return None
        exact = self.model.probabilities()
        return straight_through(self.sampler.probabilities(self.model, seed % 2**31), exact)

    def _average_gradients(self) -> None:
        if self.world == 1:
            return
        params = [p for p in self.model.parameters() if p.grad is not None]
        flat = torch.cat([p.grad.reshape(-1) for p in params]).to(_comm_device())
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat = (flat / self.world).cpu()
        offset = 0
        for p in params:
            p.grad.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()

    def _gather(self, values: list[float]) -> np.ndarray:
        """(world, len(values)) of every agent's values (a sum of one-hot rows)."""
        table = torch.zeros(self.world, len(values), dtype=torch.float64)
        table[self.rank] = torch.tensor(values, dtype=torch.float64)
        if self.world > 1:
            table = table.to(_comm_device())
            dist.all_reduce(table, op=dist.ReduceOp.SUM)
        return table.cpu().numpy()

    def _log(self, episode: int, total_reward: float, steps: int, loss: float) -> float:
        """Rank 0 writes the metrics row; every rank returns the agents' mean return."""
        shots = self.config.shots if self.sampler else 0
        table = self._gather([total_reward, steps, loss, shots])
        if self.rank != 0:
            return float(table[:, 0].mean())
        self.folder.append_metrics([{
            "episode": episode, "return_mean": float(table[:, 0].mean()),
            "returns": table[:, 0].tolist(), "steps_mean": float(table[:, 1].mean()),
            "losses/reinforce": float(table[:, 2].mean()), "hw/shots": int(table[:, 3].sum()),
            "wall_s": self._wall_s()}])
        return float(table[:, 0].mean())

    def _wall_s(self) -> float:
        """Training wall time since the first episode, across resumes."""
        return self.wall_offset_s + time.perf_counter() - self.started_s

    def _checkpoint(self, episode: int) -> None:
        if self.rank == 0:
            self.folder.save_checkpoint({
                "episode": episode, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "config": self.config.model_dump(),
                "wall_s": self._wall_s()})

    def _restore(self) -> None:
        state = self.folder.load_checkpoint()
        if state is None:
            return
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.start_episode = state["episode"] + 1
        self.wall_offset_s = state.get("wall_s", 0.0)

    def _broadcast_parameters(self) -> None:
        if self.world == 1:
            return
        for p in self.model.parameters():
            data = p.data.to(_comm_device())
            dist.broadcast(data, src=0)
            p.data.copy_(data.cpu())

    def write_agent_file(self, done: bool) -> None:
        path = self.folder.agent_file(self.rank)
        path.parent.mkdir(parents=True, exist_ok=True)
        info = {"rank": self.rank, "pid": os.getpid(), "done": done, "stopped": self.stopped,
                "params_sha256": params_digest(self.model),
                "shots": self.sampler.shots_used if self.sampler else 0,
                "jobs": self.sampler.jobs if self.sampler else 0,
                "node": {k: os.environ.get(k) for k in ("GROUP_RANK", "LOCAL_RANK", "MASTER_ADDR")}}
        path.write_text(json.dumps(info))


def params_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter's bytes: equal digests mean bit-identical agents."""
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def _comm_device() -> torch.device:
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def parameter_counts(config: QTRLConfig) -> tuple[int, int]:
    """(trainable parameters, classical policy parameters k)."""
    shape, model = build_model(config)
    return trainable_parameters(model), shape.n_weights
