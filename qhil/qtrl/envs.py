"""The two environments of issue 7, with flat float observations and their policy shapes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from qhil.errors import ConfigError

ENVS = {"MiniGrid-Empty-5x5-v0": (147, 3), "CartPole-v1": (4, 2)}
"""Env id -> (observation size, actions used). MiniGrid uses left, right, forward only."""


class FlatMiniGrid(gym.ObservationWrapper):
    """MiniGrid's 7x7x3 symbolic image, flattened to 147 floats scaled into [0, 1]."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (147,), np.float32)

    def observation(self, observation: dict) -> np.ndarray:
        return observation["image"].reshape(-1).astype(np.float32) / 10.0


def make_env(env_id: str) -> gym.Env:
    """A fresh environment; MiniGrid ids need the `minigrid` package (qhil[qtrl])."""
    if env_id not in ENVS:
        raise ConfigError(f"unknown --env '{env_id}'; choose one of {', '.join(ENVS)}")
    if env_id.startswith("MiniGrid"):
        try:
            import minigrid  # noqa: F401  (registers the MiniGrid ids)
        except ImportError:
            raise ConfigError("MiniGrid needs the minigrid package: pip install 'qhil[qtrl]'") from None
        return FlatMiniGrid(gym.make(env_id))
    return gym.make(env_id)
