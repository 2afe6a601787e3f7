"""One explorer actor: the single-process `Explorer` (act, hardware sample, env step) with its
own environments, provider, Dispatcher, ledger and journal inside the run folder.

    worker.collect(start, count, policy, version) -> StepBatch

`collect` is idempotent: it steps only until its journal holds steps [start, start + count) and
returns those steps from the journal. So when Ray restarts a killed worker and retries the call,
the steps it had stored are sent again rather than taken again, and the job it had in flight is
asked for again with the same request (the journal's intent, the same seed), which its
Dispatcher re-attaches from its ledger: nothing lost, nothing bought twice.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from qhil.distributed.spending import explorer_ledger, open_explorer_dispatcher
from qhil.execution.registry import get_provider
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.rl.config import TrainConfig
from qhil.rl.explorer import Explorer
from qhil.rl.journal import Journal, Layout
from qhil.rl.run import env_dims
from qhil.rl.sampler import HardwareSampler, HardwareStats

SEED_STRIDE = 1009  # explorer K's environments, noise and job seeds: seed + 1009 * (K + 1)


@dataclass(frozen=True)
class StepBatch:
    """Steps [start, start + len(episodes)) of one explorer, as its journal holds them."""

    explorer: int
    start: int
    rows: dict[str, np.ndarray]
    episodes: list[list[tuple[int, float, int]]]  # per step: (step, return, length) it finished
    version: int  # the policy version the newest of these steps acted with


class ExplorerJournal(Journal):
    """The explorer's journal, read back by step range."""

    def steps_between(self, start: int, stop: int) -> tuple[dict, list]:
        found = self._all("SELECT data, episodes FROM steps WHERE vstep >= ? AND vstep < ? "
                          "ORDER BY vstep", (start, stop))
        episodes = [[tuple(e) for e in json.loads(text)] if text else [] for _, text in found]
        return self.layout.unpack([data for data, _ in found]), episodes


def explorer_config(config: TrainConfig, index: int) -> TrainConfig:
    """Explorer `index`'s view: its own seed, and its share of the random warm-up steps."""
    share = math.ceil(config.td3.learning_starts / config.distributed.explorers)
    return config.with_overrides(**{"seed": config.seed + SEED_STRIDE * (index + 1),
                                    "td3.learning_starts": share})


class Discard:
    """The explorer's buffers: the learner keeps the transitions, the explorer only journals."""

    def add(self, **rows) -> None:
        pass


class ExplorerWorker:
    """What each explorer actor runs (ray.remote is applied by fleet.py)."""

    def __init__(self, config_data: dict, run_dir: str, index: int, provider: str, budget):
        torch.set_num_threads(1)
        self.index, self.config = index, explorer_config(TrainConfig(**config_data), index)
        folder, c = Path(run_dir), self.config
        obs_dim, act_dim, _, _ = env_dims(c.env)
        ansatz = HDQNNAnsatz(c.quantum.qubits, c.quantum.layers, c.quantum.entangler)
        self.provider = get_provider(provider)
        self.dispatcher = open_explorer_dispatcher(folder / explorer_ledger(index), self.provider, budget)
        self.sampler = HardwareSampler(self.dispatcher, ansatz, c.quantum.shots, c.seed,
                                       c.loop.job_timeout_s)
        layout = Layout(obs_dim, act_dim, ansatz.control_dim, c.quantum.qubits)
        self.journal = ExplorerJournal(folder / f"transitions-explorer-{index}.sqlite", layout)
        self.explorer = Explorer(c, None, self.sampler, Discard(), Discard(), self.journal, c.seed)
        self._restart()

    def _restart(self) -> None:
        """Counters from the journal; the next job's seed follows its stored steps (one job each)."""
        vsteps = self.journal.vsteps()
        if vsteps:
            self.explorer.restart(vsteps * self.config.num_envs, vsteps)
            if self.config.block == "pqc":
                self.sampler.stats = replace(HardwareStats(), jobs=vsteps)

    def collect(self, start: int, count: int, policy, version: int) -> StepBatch:
        """Steps [start, start + count), taken now unless the journal already holds them."""
        if version > self.explorer.policy_version:
            self.explorer.load_policy(policy, version)
        while self.explorer.vsteps < start + count:
            self.explorer.step()
        rows, episodes = self.journal.steps_between(start, start + count)
        return StepBatch(self.index, start, rows, episodes, self.explorer.policy_version)

    def close(self) -> None:
        self.explorer.close()
        self.journal.close()
        self.dispatcher.ledger.close()
        self.provider.close()
