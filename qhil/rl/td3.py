"""hDQNN-TD3: the maths only (twin critics, target smoothing, delayed actor, Polyak averaging).

One `update(batch)` is the paper's Algorithm 1 part B, its TD target taken first (so the target
policy's T-block is the qtDNN of the previous refit, a lag like the target networks' own, and the
refit can run beside the critic step):
    B2a the TD target; the next action comes from the surrogate target actor
    B1 refit the qtDNN on N_qt tiny batches of the minibatch's (q_i, q_o)   [pqc only]
    B2b critic TD step (beside B1, on a side thread, when the run has one)
    B3 every `policy_delay` updates: actor step through the qtDNN, maximising Q1(s, A_qt(s))
    B4 Polyak-average the target networks
The pqc T-block is a `block` of qhil.rl.qblock, by gradient method: the qtDNN (qtdnn, no
provider call), or the provider's marginals with a shift-rule, SPSA or exact Jacobian. The other
T-blocks are the linear map (fc), random bits (rbg) or zeros.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import torch
from torch import nn

from qhil.layers.graphs import NoGradGraphs
from qhil.layers.hdqnn import QtDNNTrainer
from qhil.rl.buffers import ReplaySamples
from qhil.rl.config import TD3Settings
from qhil.rl.networks import Actor, Critic
from qhil.rl.qblock import block_for

Inspect = Callable[[torch.Tensor, torch.Tensor], dict[str, float]]


class TD3:
    """Networks, targets and optimisers of one agent, and its update step."""

    def __init__(self, actor: Actor, qf1: Critic, qf2: Critic, settings: TD3Settings,
                 qtdnn: QtDNNTrainer | None, block: Any = None):
        self.s = settings
        self.actor, self.qf1, self.qf2 = actor, qf1, qf2
        self.actor_target = target_copy(actor)
        self.qf1_target, self.qf2_target = copy.deepcopy(qf1), copy.deepcopy(qf2)
        actor_params = [p for _, p in classical(actor)]
        # foreach: one fused kernel per step instead of a Python loop over tensors (also on CPU)
        self.actor_optimizer = torch.optim.Adam(actor_params, lr=settings.actor_lr, foreach=True)
        self.critic_optimizer = torch.optim.Adam(
            [*qf1.parameters(), *qf2.parameters()], lr=settings.critic_lr, foreach=True)
        self.qtdnn = qtdnn
        # the pqc T-block's learner strategy (qhil.rl.qblock): the qtDNN unless told otherwise
        self.block = block or (block_for(actor) if actor.block == "pqc" else None)
        self.updates = 0
        self.side: Executor | None = None  # a thread for the refit (qhil.threads.side_executor)
        value = target_block(self.actor_target, self.block)
        self.target_graph = None if value is None else NoGradGraphs(
            TargetValue(self, value), "the TD target")

    def update(self, batch: ReplaySamples, refit_pairs: tuple[torch.Tensor, torch.Tensor] | None,
               generator: torch.Generator, inspect: Inspect | None = None) -> dict[str, float]:
        """One learner update; returns the losses it computed (and `inspect`'s figures)."""
        logs: dict[str, float] = {}
        actor_turn = (self.updates + 1) % self.s.policy_delay == 0
        refit_turn = actor_turn or (self.qtdnn is not None and self.qtdnn.every_update)
        target = self.td_target(batch, generator)  # the target policy's qtDNN: the last refit's
        refit = None
        if self.qtdnn is not None and refit_turn and refit_pairs is not None:
            refit = self.start_refit(refit_pairs, generator)
        logs.update(self.critic_step(batch, target))
        if refit is not None:
            logs["surrogate/loss"] = refit()
        if actor_turn:
            logs.update(self.actor_step(batch, generator, inspect))
            self.polyak()
        self.updates += 1
        return logs

    def target_action(self, next_obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Smoothed target-policy action: A_qt'(s') + clipped noise, within bounds."""
        actor = self.actor_target
        q_in, clinks = actor.controls(next_obs)
        # pqc: the learner's block models the device; the classical blocks are the target's own
        y = self.block.target(q_in) if actor.block == "pqc" else actor.t_block(q_in, None, generator)
        action = actor.finish(y, clinks)
        noise = torch.randn(action.shape, generator=generator, device=generator.device)
        return smoothed(actor, action, noise, self.s.target_noise, self.s.target_noise_clip)

    def start_refit(self, pairs: tuple[torch.Tensor, torch.Tensor],
                    generator: torch.Generator) -> Callable[[], float]:
        """B1, on the side thread while the critic step runs (`side`), else here: the refit
        touches only the qtDNN, which the critic step no longer reads. Returns its loss's getter."""
        if self.side is None:
            loss = self.qtdnn.refit(*pairs, generator)
            return lambda: loss
        return self.side.submit(self.qtdnn.refit, *pairs, generator).result

    @torch.no_grad()
    def td_target(self, b: ReplaySamples, generator: torch.Generator) -> torch.Tensor:
        """r + gamma (1 - done) min(Q1', Q2')(s', A'(s') + clipped noise); where the target's
        T-block is a module (the qtDNN, fc, zeros), as one traced graph (`TargetValue`)."""
        if self.target_graph is not None:
            noise = torch.randn((len(b.next_obs), len(self.actor.scale)), generator=generator,
                                device=generator.device)
            return self.target_graph(b.next_obs, noise, b.rewards, b.dones)
        next_action = self.target_action(b.next_obs, generator)
        return bootstrap(self.qf1_target, self.qf2_target, b.next_obs, next_action, b.rewards,
                         b.dones, self.s.gamma)

    def critic_step(self, b: ReplaySamples, target: torch.Tensor) -> dict[str, float]:
        q1, q2 = self.qf1(b.obs, b.actions), self.qf2(b.obs, b.actions)
        loss1, loss2 = nn.functional.mse_loss(q1, target), nn.functional.mse_loss(q2, target)
        self.critic_optimizer.zero_grad(set_to_none=True)
        (loss1 + loss2).backward()
        self.critic_optimizer.step()
        return {"losses/qf1_loss": loss1.item(), "losses/qf2_loss": loss2.item(),
                "losses/qf1_values": q1.mean().item()}

    def actor_loss(self, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """-Q1(s, A(s)): gradients go PostDNN -> the block's Jacobian (pqc) -> PreDNN."""
        actor = self.actor
        if actor.block != "pqc":
            return -self.qf1(obs, actor.surrogate(obs, generator)).mean()
        q_in, clinks = actor.controls(obs)
        return -self.qf1(obs, actor.finish(self.block.actor(q_in), clinks)).mean()

    def actor_step(self, b: ReplaySamples, generator: torch.Generator,
                   inspect: Inspect | None = None) -> dict[str, float]:
        """One actor step; `inspect(loss, obs)` measures the gradient before it is applied."""
        loss = self.actor_loss(b.obs, generator)
        logs = inspect(loss, b.obs) if inspect is not None else {}
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return {"losses/actor_loss": loss.item(), **logs}

    def polyak(self) -> None:
        """Soft-update the targets; the target actor's qtDNN is never used, so it is skipped."""
        for net, target in ((self.actor, self.actor_target), (self.qf1, self.qf1_target),
                            (self.qf2, self.qf2_target)):
            targets = dict(target.named_parameters())
            with torch.no_grad():
                for name, p in classical(net):
                    targets[name].lerp_(p, self.s.tau)

    def state_dict(self) -> dict:
        """Networks, targets and optimisers; the target actor without the live qtDNN it shares."""
        state = {"updates": self.updates, "actor_optimizer": self.actor_optimizer.state_dict(),
                 "critic_optimizer": self.critic_optimizer.state_dict()}
        for name in ("actor", "qf1", "qf2", "actor_target", "qf1_target", "qf2_target"):
            state[name] = getattr(self, name).state_dict()
        state["actor_target"] = {k: v for k, v in state["actor_target"].items()
                                 if not k.startswith(QUANTUM)}
        if self.qtdnn is not None:
            state["qtdnn_optimizer"] = self.qtdnn.optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Also a checkpoint written before the target shared the live qtDNN: its target copy
        of the qtDNN (never read) is ignored."""
        for name in ("actor", "qf1", "qf2", "qf1_target", "qf2_target"):
            getattr(self, name).load_state_dict(state[name])
        load_target_actor(self.actor_target, state["actor_target"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        if self.qtdnn is not None and "qtdnn_optimizer" in state:
            self.qtdnn.optimizer.load_state_dict(state["qtdnn_optimizer"])
        self.updates = state["updates"]


class TargetValue(nn.Module):
    """The TD target as one module, which `TD3.td_target` runs as a traced graph (qhil.layers.
    graphs): its ops in C++ with the GIL released, so the async explorer's Python (a pqc step's
    job and ledger) runs beside it instead of between its ops (issue 27; the pieces in
    benchmarks/results/bench_train_parts.md). The same ops as `target_action` and `td_target`
    in the same order, the smoothing noise drawn outside (a graph holds no generator): the same
    values to the bit (tests/rl/test_td3.py). Shares the TD3's target networks and the live
    qtDNN; not a part of any checkpoint."""

    def __init__(self, td3: TD3, value: nn.Module):
        super().__init__()
        self.actor, self.qf1, self.qf2 = td3.actor_target, td3.qf1_target, td3.qf2_target
        self.value = value  # the target's T-block: the live qtDNN (pqc) or its own fc / zeros
        self.noise, self.clip, self.gamma = td3.s.target_noise, td3.s.target_noise_clip, td3.s.gamma

    def forward(self, next_obs, noise, rewards, dones):  # type: ignore[override]
        actor = self.actor
        q_in, clinks = actor.controls(next_obs)
        action = smoothed(actor, actor.finish(self.value(q_in), clinks), noise, self.noise, self.clip)
        return bootstrap(self.qf1, self.qf2, next_obs, action, rewards, dones, self.gamma)


def smoothed(actor: Actor, action: torch.Tensor, noise: torch.Tensor, scale: float,
             clip: float) -> torch.Tensor:
    """Target policy smoothing: action + clipped noise (drawn N(0, 1)), within the bounds."""
    noise = (noise.to(action) * scale).clamp(-clip, clip) * actor.scale
    return torch.max(torch.min(action + noise, actor.bias + actor.scale), actor.bias - actor.scale)


def bootstrap(qf1: Critic, qf2: Critic, next_obs: torch.Tensor, next_action: torch.Tensor,
              rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    """r + gamma (1 - done) min(Q1', Q2')(s', a')."""
    q_next = torch.min(qf1(next_obs, next_action), qf2(next_obs, next_action))
    return rewards + (1 - dones) * gamma * q_next


class _Block(nn.Module):
    """A classical target actor's T-block (fc, zeros) as a module of q_in alone."""

    def __init__(self, actor: Actor):
        super().__init__()
        self.actor = actor

    def forward(self, q_in):  # type: ignore[override]
        return self.actor.t_block(q_in, None)


def target_block(actor_target: Actor, block) -> nn.Module | None:
    """The target T-block as a module a graph can hold: the qtDNN (pqc with the qtdnn method),
    the target's fc or zeros; None where it samples (rbg, or a pqc method that sends jobs)."""
    if actor_target.block == "pqc":
        return block.strategy.qtdnn if block.method == "qtdnn" else None
    return None if actor_target.block == "rbg" else _Block(actor_target)


QUANTUM = "quantum."  # the quantum layer's names in an actor's state: its qtDNN


def classical(net: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Named parameters outside the quantum layer: the qtDNN has its own optimiser, and the
    target actor shares the live one's (`target_copy`)."""
    return [(n, p) for n, p in net.named_parameters() if not n.startswith(QUANTUM)]


def target_copy(actor: Actor) -> Actor:
    """The target actor: a copy of the actor's classical networks that shares the live qtDNN.
    The target policy's T-block value comes from the learner's block (`target_action`), so a
    copy of the qtDNN would never be read; not copying it saves its memory and checkpoint room."""
    qtdnn = actor.quantum.qtdnn
    return copy.deepcopy(actor, {id(qtdnn): qtdnn})


def load_target_actor(target: Actor, state: dict) -> None:
    """The target's classical networks from `state` (which may hold an old copy of the qtDNN:
    ignored); the shared qtDNN is the live actor's and is loaded with it."""
    classical_state = {k: v for k, v in state.items() if not k.startswith(QUANTUM)}
    missing, unexpected = target.load_state_dict(classical_state, strict=False)
    wrong = [k for k in missing if not k.startswith(QUANTUM)] + list(unexpected)
    if wrong:
        raise RuntimeError(f"target actor state does not fit this actor: {wrong[:5]}")
