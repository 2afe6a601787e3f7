"""Tiny Pendulum runs: a few hundred steps, 2 qubits x 1 layer, small nets."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from qhil.execution.provider import Provider
from qhil.execution.registry import get_provider
from qhil.rl.config import TrainConfig, dump_toml

TINY = {
    "env": "Pendulum-v1", "provider": "local", "block": "pqc", "steps": 240, "num_envs": 2,
    "seed": 0,
    "quantum": {"qubits": 2, "layers": 1, "shots": 20},
    "td3": {"batch_size": 32, "learning_starts": 100, "buffer_size": 5000},
    "qtdnn": {"hidden": [16], "n_tiny_batches": 4, "tiny_batch_size": 16, "buffer_size": 1000,
              "fidelity_every": 1},
    "network": {"pre_hidden": [16], "post_hidden": [16], "critic_hidden": [32], "clinks": 2},
    "eval": {"episodes": 2},
    "loop": {"log_every_steps": 40, "checkpoint_every_steps": 100, "device": "cpu",
             "max_policy_lag": 5},
}


def tiny_config(**top) -> TrainConfig:
    data = {**TINY, **top}
    return TrainConfig(**data)


@pytest.fixture
def tiny_toml(tmp_path: Path):
    def write(**top) -> Path:
        path = tmp_path / "tiny.toml"
        path.write_text(dump_toml(tiny_config(**top)))
        return path
    return write


class CountingProvider(Provider):
    """The local provider, recording which thread submitted each job."""

    kind = "local"
    native_batching = True
    supports_seed = True

    def __init__(self):
        self.inner = get_provider("local")
        super().__init__(self.inner.profile)
        self.threads: list[str] = []

    def validate(self, request) -> None:
        self.inner.validate(request)

    def _submit(self, request):
        self.threads.append(threading.current_thread().name)
        return self.inner._submit(request)

    def close(self) -> None:
        self.inner.close()
