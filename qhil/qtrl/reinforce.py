"""REINFORCE with discounted returns (the maths only): rollout, G_t, the per-episode loss.

Loss of one agent's episode (paper eq. 3): -(1/T) sum_t log pi(a_t | s_t) G_t.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from qhil.qtrl.generator import PolicyShape


@dataclass(frozen=True)
class Episode:
    """One trajectory: observations (T, obs), actions (T,), rewards (T,)."""

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: np.ndarray

    @property
    def total_reward(self) -> float:
        return float(self.rewards.sum())


def rollout(env: gym.Env, shape: PolicyShape, theta: torch.Tensor, env_seed: int,
            generator: torch.Generator) -> Episode:
    """Play one episode with the fixed weights theta (no gradient is kept here)."""
    obs, _ = env.reset(seed=env_seed)
    observations, actions, rewards = [], [], []
    theta = theta.detach()
    done = False
    while not done:
        x = torch.as_tensor(obs, dtype=torch.float32)
        with torch.no_grad():
            probs = torch.softmax(shape.logits(theta, x[None]), dim=-1)
        action = int(torch.multinomial(probs[0], 1, generator=generator))
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(x)
        actions.append(action)
        rewards.append(float(reward))
        done = terminated or truncated
    return Episode(torch.stack(observations), torch.tensor(actions), np.array(rewards))


def discounted_returns(rewards: np.ndarray, gamma: float) -> torch.Tensor:
    """G_t = sum_{k >= t} gamma^(k-t) r_k."""
    out = np.zeros(len(rewards))
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return torch.as_tensor(out, dtype=torch.float32)


def reinforce_loss(shape: PolicyShape, theta: torch.Tensor, episode: Episode,
                   gamma: float) -> torch.Tensor:
    """-(1/T) sum_t log pi(a_t|s_t) G_t, differentiable in theta."""
    log_probs = torch.log_softmax(shape.logits(theta, episode.observations), dim=-1)
    chosen = log_probs.gather(1, episode.actions[:, None]).squeeze(1)
    return -(chosen * discounted_returns(episode.rewards, gamma)).mean()
