"""Replay buffer of hDQNN transitions and the qtDNN buffer of recent (q_i, q_o) pairs.

Both are numpy ring buffers sampled with a `numpy.random.Generator` passed in (no global RNG),
and both save to / load from one .npz so a resumed run keeps its data. A ring counts every row it
was given (`added`), so a sampled slot can be named by its row's number in the run
(`sample_indexed`): what the run's journal records of each learner minibatch.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch


class ReplaySamples(NamedTuple):
    """A minibatch as torch tensors: (B, ...) each."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    dones: torch.Tensor
    q_in: torch.Tensor
    q_out: torch.Tensor


class RingBuffer:
    """Fixed-capacity arrays written in a ring; thread-safe add and sample."""

    def __init__(self, capacity: int, shapes: dict[str, tuple[int, ...]]):
        self.capacity = capacity
        self.arrays = {k: np.zeros((capacity, *s), dtype=np.float32) for k, s in shapes.items()}
        self.pos = 0
        self.size = 0
        self.added = 0  # rows ever given; row number added - 1 sits at slot pos - 1
        self.lock = threading.Lock()

    def add(self, **rows: np.ndarray) -> None:
        """Append a batch of rows (first axis)."""
        count = len(next(iter(rows.values())))
        with self.lock:
            index = (self.pos + np.arange(count)) % self.capacity
            for key, value in rows.items():
                self.arrays[key][index] = value
            self.pos = int((self.pos + count) % self.capacity)
            self.size = min(self.size + count, self.capacity)
            self.added += count

    def sample_rows(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        with self.lock:
            index = rng.integers(0, self.size, size=batch_size)
            return {k: v[index] for k, v in self.arrays.items()}

    def sample_indexed(self, batch_size: int,
                       rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """`sample_rows` (the same draws) and each row's number in the run, in one look."""
        with self.lock:
            slots = rng.integers(0, self.size, size=batch_size)
            numbers = self.added - 1 - (self.pos - 1 - slots) % self.capacity
            return {k: v[slots] for k, v in self.arrays.items()}, numbers

    def save(self, path: Path) -> None:
        with self.lock:
            np.savez(path, pos=self.pos, size=self.size,
                     **{k: v[: self.size] for k, v in self.arrays.items()})

    def load(self, path: Path) -> None:
        data = np.load(path)
        with self.lock:
            self.size = int(data["size"])
            self.pos = int(data["pos"])
            self.added = self.size
            for key in self.arrays:
                self.arrays[key][: self.size] = data[key]


class ReplayBuffer(RingBuffer):
    """Transitions (s, a, r, s', done, q_i, q_o) of every environment."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, control_dim: int, width: int):
        super().__init__(capacity, {
            "obs": (obs_dim,), "actions": (act_dim,), "rewards": (), "next_obs": (obs_dim,),
            "dones": (), "q_in": (control_dim,), "q_out": (width,)})

    def sample(self, batch_size: int, rng: np.random.Generator, device: torch.device) -> ReplaySamples:
        return samples_of(self.sample_rows(batch_size, rng), device)


def samples_of(rows: dict[str, np.ndarray], device: torch.device) -> ReplaySamples:
    """Rows (float32 arrays, from the ring or the run's journal) as a minibatch on `device`."""
    return ReplaySamples(**{k: torch.as_tensor(np.asarray(rows[k], dtype=np.float32), device=device)
                            for k in ReplaySamples._fields})


class PairBuffer(RingBuffer):
    """The qtDNN buffer: the most recent (q_i, q_o) pairs from every hardware job."""

    def __init__(self, capacity: int, control_dim: int, width: int):
        super().__init__(capacity, {"q_in": (control_dim,), "q_out": (width,)})

    def sample(self, batch_size: int, rng: np.random.Generator,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self.sample_rows(batch_size, rng)
        return (torch.as_tensor(rows["q_in"], device=device),
                torch.as_tensor(rows["q_out"], device=device))
