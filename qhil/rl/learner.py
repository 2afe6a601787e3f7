"""The learner: builds the agent and runs TD3 updates from the replay buffer. No provider here.

Gradient fidelity (every `fidelity_every` actor updates, pqc only) uses the embedded simulator's
exact marginals as the reference, which is a local computation, not a provider call:
    surrogate/jacobian_cosine  cos(J_qtDNN, J_exact) per sample, mean over the minibatch, at the
                               current policy's controls (where the actor update takes it)
    surrogate/jacobian_cosine_refit  the same at the minibatch's stored q_i, the pairs the qtDNN
                               was just refit on (Theorem 1's ball)
    surrogate/grad_cosine      cos of the actor-loss gradient w.r.t. the angle controls (the
                               whole minibatch, flattened) through the qtDNN vs through the exact
                               marginals: the upstream gradient Theorem 1 bounds
"""

from __future__ import annotations

import numpy as np
import torch

from qhil.quantum.layer import QtDNNTrainer, exact_marginals, jacobian_cosine
from qhil.quantum.simulator import BatchedSimulator
from qhil.rl.buffers import PairBuffer, ReplayBuffer, ReplaySamples
from qhil.rl.config import TrainConfig
from qhil.rl.networks import Actor, Critic
from qhil.rl.td3 import TD3

FIDELITY_SAMPLES = 64


def build_td3(config: TrainConfig, obs_dim: int, act_dim: int, low: np.ndarray,
              high: np.ndarray, device: torch.device) -> TD3:
    """Actor, twin critics, targets and optimisers, seeded by config.seed."""
    torch.manual_seed(config.seed)
    actor = Actor(config, obs_dim, act_dim, torch.as_tensor(low, dtype=torch.float32),
                  torch.as_tensor(high, dtype=torch.float32)).to(device)
    net = config.network
    qf1, qf2 = (Critic(obs_dim, act_dim, net.critic_hidden, net.critic_action_layer).to(device)
                for _ in range(2))
    q = config.qtdnn
    trainer = (QtDNNTrainer(actor.quantum.qtdnn, q.lr, q.n_tiny_batches, q.tiny_batch_size,
                            q.weight_decay)
               if config.block == "pqc" else None)
    return TD3(actor, qf1, qf2, config.td3, trainer)


class Learner:
    """Samples minibatches, refits the surrogate, updates critics and actor, measures fidelity."""

    def __init__(self, config: TrainConfig, td3: TD3, replay: ReplayBuffer, pairs: PairBuffer,
                 device: torch.device):
        self.config, self.td3 = config, td3
        self.replay, self.pairs = replay, pairs
        self.device = device
        self.rng = np.random.default_rng(config.seed + 1)
        self.generator = torch.Generator(device=device).manual_seed(config.seed + 2)
        # complex128: the exact reference the surrogate's Jacobian is scored against.
        self.sim = (BatchedSimulator(config.quantum.qubits, device=device, precision="complex128")
                    if config.block == "pqc" else None)
        self.last: dict[str, float] = {}

    @property
    def updates(self) -> int:
        return self.td3.updates

    def update(self) -> dict[str, float]:
        """One TD3 update (surrogate refit, critic, actor) from a replay minibatch."""
        batch = self.replay.sample(self.config.td3.batch_size, self.rng, self.device)
        logs = self.td3.update(batch, self._refit_pairs(batch), self.generator)
        every = self.config.qtdnn.fidelity_every
        actor_updates = self.td3.updates // self.config.td3.policy_delay
        if self.sim is not None and every and "losses/actor_loss" in logs and actor_updates % every == 1 % every:
            logs.update(self.fidelity(batch))
        self.last.update(logs)
        return logs

    def _refit_pairs(self, batch: ReplaySamples) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The minibatch's (q_i, q_o) plus recent pairs from the qtDNN buffer (recent_fraction)."""
        if self.td3.qtdnn is None:
            return None
        share = self.config.qtdnn.recent_fraction
        extra = round(len(batch.q_in) * share / max(1e-9, 1 - share)) if share < 1 else len(batch.q_in)
        if self.pairs.size == 0 or extra == 0:
            return batch.q_in, batch.q_out
        q_in, q_out = self.pairs.sample(extra, self.rng, self.device)
        return torch.cat([batch.q_in, q_in]), torch.cat([batch.q_out, q_out])

    def fidelity(self, batch: ReplaySamples) -> dict[str, float]:
        """Jacobian and actor-gradient cosines against the exact simulator, on the minibatch."""
        obs = batch.obs[:FIDELITY_SAMPLES]
        actor = self.td3.actor
        with torch.no_grad():
            q_in, _ = actor.controls(obs)
        cols = actor.control_map.angle_columns()
        qtdnn = actor.quantum.qtdnn
        jac = jacobian_cosine(self.sim, actor.ansatz, qtdnn, q_in, cols)
        refit = jacobian_cosine(self.sim, actor.ansatz, qtdnn, batch.q_in[:FIDELITY_SAMPLES], cols)
        return {"surrogate/jacobian_cosine": jac, "surrogate/jacobian_cosine_refit": refit,
                "surrogate/grad_cosine": self.grad_cosine(obs)}

    def grad_cosine(self, obs: torch.Tensor) -> float:
        """cos of dLoss/d(angle controls) through the qtDNN vs through the exact marginals."""
        actor, qf1 = self.td3.actor, self.td3.qf1
        with torch.no_grad():
            q_in, clinks = actor.controls(obs)
        cols = actor.control_map.angle_columns()
        grads = []
        for block in (actor.quantum.qtdnn, lambda x: exact_marginals(self.sim, actor.ansatz, x)):
            x = q_in.clone().requires_grad_(True)
            loss = -qf1(obs, actor.finish(block(x), clinks)).mean()
            (g,) = torch.autograd.grad(loss, x)
            grads.append(g[:, cols].flatten())
        return torch.nn.functional.cosine_similarity(*grads, dim=0, eps=1e-12).item()
