import itertools
import os

import numpy as np
import pytest

SCRUBBED = ("AWS_", "QISKIT_", "IBM_", "QHIL_")  # credentials and qhil settings of this machine


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch, tmp_path_factory) -> None:
    """Every test starts from the same environment on every clone and account: none of this
    machine's cloud credentials, user profiles or qhil settings, and nothing an earlier test left
    (an in-process `--quiet` sets QHIL_QUIET=1 for the rest of the process)."""
    for name in [n for n in os.environ if n.startswith(SCRUBBED)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("QHIL_QUIET", "0")
    nobody = tmp_path_factory.getbasetemp() / "no-user-settings"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(nobody / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nobody / "aws" / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nobody / "aws" / "config"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def seeded_braket(monkeypatch) -> None:
    """Seed Braket's local simulators, which draw shots from an unseeded `np.random.default_rng()`.

    Each simulation built during the test (in this process) gets the next of a fixed sequence of seeds, so a test of
    sampled Braket results sees the same shots on every run and every clone.
    """
    try:
        from braket.default_simulator.density_matrix_simulation import DensityMatrixSimulation
        from braket.default_simulator.state_vector_simulation import StateVectorSimulation
    except ImportError:  # no Braket here: nothing to seed
        return
    seeds = itertools.count(2024)
    for cls in (StateVectorSimulation, DensityMatrixSimulation):
        monkeypatch.setattr(cls, "__init__", _seeding(cls.__init__, seeds))


def _seeding(init, seeds):
    def seeded_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        assert hasattr(self, "_rng_generator"), "Braket renamed its simulation's generator"
        self._rng_generator = np.random.default_rng(next(seeds))
    return seeded_init


def random_controls(rng: np.random.Generator, ansatz, batch: int) -> np.ndarray:
    """Random angles in [-pi, pi) and CZ indices spread over (and a bit beyond) 0..n-1."""
    blocks = rng.uniform(-np.pi, np.pi, (batch, ansatz.n_layers, ansatz.per_layer))
    if ansatz.entangler == "data":
        n = ansatz.n_qubits
        blocks[:, :, 2 * n:] = rng.uniform(-0.7, n - 0.3, (batch, ansatz.n_layers, 2))
    return blocks.reshape(batch, -1)
