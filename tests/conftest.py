import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def random_controls(rng: np.random.Generator, ansatz, batch: int) -> np.ndarray:
    """Random angles in [-pi, pi) and CZ indices spread over (and a bit beyond) 0..n-1."""
    blocks = rng.uniform(-np.pi, np.pi, (batch, ansatz.n_layers, ansatz.per_layer))
    if ansatz.entangler == "data":
        n = ansatz.n_qubits
        blocks[:, :, 2 * n:] = rng.uniform(-0.7, n - 0.3, (batch, ansatz.n_layers, 2))
    return blocks.reshape(batch, -1)
