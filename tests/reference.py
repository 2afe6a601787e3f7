"""An independent dense-matrix reference for the hDQNN circuit (numpy, small n only)."""

from __future__ import annotations

import numpy as np


def rx(a: float) -> np.ndarray:
    c, s = np.cos(a / 2), np.sin(a / 2)
    return np.array([[c, -1j * s], [-1j * s, c]])


def ry(b: float) -> np.ndarray:
    c, s = np.cos(b / 2), np.sin(b / 2)
    return np.array([[c, -s], [s, c]])


def cz_diagonal(n: int, i: int, k: int) -> np.ndarray:
    index = np.arange(2 ** n)
    bit = lambda q: (index >> (n - 1 - q)) & 1  # noqa: E731
    return np.where((bit(i) & bit(k)) == 1, -1.0, 1.0) if i != k else np.ones(2 ** n)


def reference_probabilities(angles: np.ndarray, cz: np.ndarray) -> np.ndarray:
    """angles (L, n, 2), cz (L, P, 2) -> (2**n,) probabilities, qubit 0 most significant."""
    layers, n, _ = angles.shape
    state = np.zeros(2 ** n, dtype=complex)
    state[0] = 1
    for layer in range(layers):
        op = np.array([[1.0]])
        for q in range(n):
            op = np.kron(op, ry(angles[layer, q, 1]) @ rx(angles[layer, q, 0]))
        state = op @ state
        for i, k in cz[layer]:
            state = cz_diagonal(n, int(i), int(k)) * state
    return np.abs(state) ** 2


def reference_marginals(angles: np.ndarray, cz: np.ndarray) -> np.ndarray:
    """(B, L, n, 2), (B, L, P, 2) -> (B, n) exact P(qubit j reads 1)."""
    n = angles.shape[2]
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return np.stack([reference_probabilities(a, c) @ bits for a, c in zip(angles, cz, strict=False)])


def shot_noise_sigma(ideal: np.ndarray, shots: int) -> np.ndarray:
    """Binomial sigma of a sampled marginal, its variance floored at one count in `shots`.

    Near-zero marginals see Poisson noise (a stray count or two), which a Gaussian sigma of
    sqrt(p(1-p)/S) at p ~ 0 would call a many-sigma outlier.
    """
    return np.sqrt(np.clip(ideal * (1 - ideal), 1 / shots, None) / shots)
