"""gymnasium vector environments for training and evaluation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from qhil.errors import ConfigError


def make_envs(env_id: str, count: int) -> gym.vector.SyncVectorEnv:
    """`count` copies of `env_id` with episode statistics; autoreset in the same step."""
    if env_id not in gym.registry:
        raise ConfigError(f"unknown environment '{env_id}'; pass a gymnasium id such as "
                          f"Pendulum-v1, Hopper-v4 or Humanoid-v4")

    def make() -> gym.Env:
        return gym.wrappers.RecordEpisodeStatistics(gym.make(env_id))

    envs = gym.vector.SyncVectorEnv([make] * count,
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    if not isinstance(envs.single_action_space, gym.spaces.Box):
        envs.close()
        raise ConfigError(f"{env_id} has a discrete action space; TD3 needs continuous actions")
    return envs


def finished_episodes(info: dict) -> list[tuple[int, float, int]]:
    """(env index, return, length) of every episode that ended in this step."""
    final = info.get("final_info", {})
    if "episode" not in final:
        return []
    ep, mask = final["episode"], final["_episode"]
    return [(int(i), float(ep["r"][i]), int(ep["l"][i])) for i in np.flatnonzero(mask)]


def real_next_obs(next_obs: np.ndarray, info: dict) -> np.ndarray:
    """next_obs with the true last observation where an episode ended (not the reset one)."""
    out = np.array(next_obs, copy=True)
    if "_final_obs" in info:
        for i in np.flatnonzero(info["_final_obs"]):
            out[i] = info["final_obs"][i]
    return out
