"""The QT PQC as a provider SamplingRequest, for p_i estimated from shots (hardware in the loop).

Providers accept layers of RX-then-RY per qubit followed by CZ pairs. Each U3 block becomes two
request layers through a Y-X-Y Euler decomposition, U3 ~ RY(a) RX(b) RY(c) (up to a global phase):
layer 2l = (RX 0, RY c) with no CZ, layer 2l+1 = (RX b, RY a) then the block's CZ entangler.

Gradients in this mode (straight-through, as the qtDNN): the forward pass uses the shot estimate
p_hat, the backward pass the exact simulator's Jacobian: p = p_exact + (p_hat - p_exact).detach().
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qhil.execution.provider import Provider
from qhil.execution.request import SamplingRequest
from qhil.qtrl.generator import entangler_pairs
from qhil.quantum.bitstrings import probabilities_from_counts

# V with V^dag Z V = Y and V^dag Y V = X: conjugating a ZYZ decomposition by it gives YXY.
_V = 0.5 * np.array([[1 - 1j, -1 - 1j], [1 - 1j, 1 + 1j]])


def u3_matrix(theta: np.ndarray, phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Qiskit's U3 as numpy (..., 2, 2)."""
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    rows = [c + 0j, -np.exp(1j * lam) * s, np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]
    return np.stack(rows, axis=-1).reshape(*np.shape(theta), 2, 2)


def yxy_angles(unitary: np.ndarray) -> np.ndarray:
    """(a, b, c) with unitary ~ RY(a) RX(b) RY(c), for a batch of 2x2 unitaries (..., 2, 2)."""
    w = _V @ unitary @ _V.conj().T  # ZYZ form: Rz(a) Ry(b) Rz(c), up to a phase
    det = np.linalg.det(w)
    beta = 2 * np.arctan2(np.abs(w[..., 1, 0]), np.abs(w[..., 0, 0]))
    alpha = np.angle(w[..., 1, 1] * w[..., 1, 0] / det)
    gamma = np.angle(w[..., 1, 1] * w[..., 1, 0].conj())
    no_sin, no_cos = np.abs(w[..., 1, 0]) < 1e-9, np.abs(w[..., 0, 0]) < 1e-9
    alpha = np.where(no_sin, np.angle(w[..., 1, 1] ** 2 / det), alpha)
    alpha = np.where(no_cos, np.angle(w[..., 1, 0] ** 2 / det), alpha)
    gamma = np.where(no_sin | no_cos, 0.0, gamma)
    return np.stack([alpha, beta, gamma], axis=-1)


def qt_request(angles: np.ndarray, shots: int, seed: int | None = None) -> SamplingRequest:
    """One circuit (batch 1) of 2L request layers equivalent to the U3 blocks angles (L, n, 3)."""
    n_blocks, n_qubits = angles.shape[:2]
    yxy = yxy_angles(u3_matrix(angles[..., 0], angles[..., 1], angles[..., 2]))
    layers = np.zeros((2 * n_blocks, n_qubits, 2))
    layers[0::2, :, 1] = yxy[..., 2]
    layers[1::2, :, 0], layers[1::2, :, 1] = yxy[..., 1], yxy[..., 0]
    pairs = np.array(entangler_pairs(n_qubits))
    cz = np.zeros((2 * n_blocks, len(pairs), 2), dtype=np.int64)
    cz[1::2] = pairs
    return SamplingRequest(layers[None], cz[None], shots, seed, {"purpose": "qtrl"})


@dataclass
class ShotSampler:
    """Estimates p_i on a provider; counts shots and jobs for the cost report."""

    provider: Provider
    shots: int
    timeout_s: float = 3600.0
    shots_used: int = 0
    jobs: int = 0

    def probabilities(self, angles: torch.Tensor, seed: int | None) -> torch.Tensor:
        request = qt_request(angles.detach().double().numpy(), self.shots, seed)
        result = self.provider.submit(request).result(timeout_s=self.timeout_s)
        self.shots_used += request.total_shots
        self.jobs += 1
        probs = probabilities_from_counts(result.counts[0], request.n_qubits)
        return torch.as_tensor(probs, dtype=torch.float32)


def straight_through(exact: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """Forward value `estimate`, gradient of `exact`."""
    return exact + (estimate - exact).detach()
