"""The hDQNN ansatz: a control vector per sample becomes one sampling circuit.

Data-dependent entangler (the paper's): for layer l the block
`controls[:, l*(2n+2):(l+1)*(2n+2)]` holds RX at 2j and RY at 2j+1 for each qubit j, then two CZ
indices at 2n and 2n+1, rounded to the nearest integer and clamped to 0..n-1 (no gate if equal).

Fixed entangler ("ring" or "chain"): controls hold only the 2n angles per layer and every layer
ends with the same CZ pattern, so every sample shares one circuit structure and a whole batch
packs into one parameterised job on real services.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qhil.errors import RequestValidationError
from qhil.names import ENTANGLERS
from qhil.quantum.request import SamplingRequest
from qhil.quantum.template import CircuitTemplate

__all__ = ["ENTANGLERS", "HDQNNAnsatz"]


@dataclass(frozen=True)
class HDQNNAnsatz:
    """PQC of `n_layers` layers of RX, RY on every qubit followed by CZ gates.

    Args:
        n_qubits: qubits n (each is measured; the output is P(qubit j reads 1)).
        n_layers: layers L.
        entangler: "data" (CZ indices from the controls), "ring" or "chain" (fixed CZ pattern).
    """

    n_qubits: int
    n_layers: int
    entangler: str = "data"

    def __post_init__(self) -> None:
        if self.n_qubits < 1 or self.n_layers < 1:
            raise RequestValidationError("n_qubits and n_layers must be at least 1")
        if self.entangler not in ENTANGLERS:
            raise RequestValidationError(
                f"entangler must be one of {', '.join(ENTANGLERS)}, got {self.entangler!r}")

    @property
    def per_layer(self) -> int:
        return 2 * self.n_qubits + (2 if self.entangler == "data" else 0)

    @property
    def control_dim(self) -> int:
        return self.n_layers * self.per_layer

    @property
    def angle_dim(self) -> int:
        """How many of the controls are differentiable rotation angles."""
        return self.n_layers * 2 * self.n_qubits

    def fixed_pairs(self) -> list[tuple[int, int]]:
        """The CZ pattern of one layer in fixed mode."""
        n = self.n_qubits
        if self.entangler == "data" or n < 2:
            return []
        chain = [(j, j + 1) for j in range(n - 1)]
        return chain + [(n - 1, 0)] if self.entangler == "ring" and n > 2 else chain

    def random_controls(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        """(batch, control_dim) uniform angles in [0, 2 pi) and, for the data entangler, uniform
        CZ indices: circuits shaped like a training run's."""
        blocks = rng.uniform(0, 2 * np.pi, size=(batch, self.n_layers, self.per_layer))
        if self.entangler == "data":
            blocks[:, :, 2 * self.n_qubits:] = rng.integers(0, self.n_qubits,
                                                            (batch, self.n_layers, 2))
        return blocks.reshape(batch, -1)

    def split(self, controls: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Controls (B, control_dim) -> angles (B, L, n, 2), cz (B, L, P, 2)."""
        c = _as_array(controls)
        if c.ndim != 2 or c.shape[1] != self.control_dim:
            raise RequestValidationError(
                f"controls must have shape (B, {self.control_dim}), got {tuple(c.shape)}")
        if not np.isfinite(c).all():
            raise RequestValidationError("controls must be finite (found NaN or inf)")
        blocks = c.reshape(c.shape[0], self.n_layers, self.per_layer)
        angles = blocks[:, :, : 2 * self.n_qubits].reshape(c.shape[0], self.n_layers, -1, 2)
        return angles, self._cz(blocks)

    def request(self, controls: torch.Tensor | np.ndarray, shots: int | None,
                seed: int | None = None) -> SamplingRequest:
        """A validated SamplingRequest for these controls (one template per distinct CZ
        structure, the angles as parameter rows); shots=None asks for exact marginals."""
        angles, cz = self.split(controls)
        return SamplingRequest.from_hdqnn(angles, cz, shots, seed=seed)

    def template(self, cz: np.ndarray) -> CircuitTemplate:
        """The circuit template of one CZ structure cz (L, P, 2): parameters are the L*n*2 angles
        in (layer, qubit, RX/RY) order."""
        return CircuitTemplate.from_hdqnn(self.n_qubits, cz)

    def template_request(self, controls: torch.Tensor | np.ndarray, shots: int | None,
                         seed: int | None = None) -> SamplingRequest:
        """The same request as `request` (kept for callers from when requests had two kinds)."""
        return self.request(controls, shots, seed)

    def _cz(self, blocks: np.ndarray) -> np.ndarray:
        batch = blocks.shape[0]
        if self.entangler != "data":
            pairs = np.array(self.fixed_pairs() or [(0, 0)], dtype=np.int64)
            return np.broadcast_to(pairs, (batch, self.n_layers, *pairs.shape)).copy()
        raw = blocks[:, :, 2 * self.n_qubits:]
        index = np.clip(np.floor(raw + 0.5), 0, self.n_qubits - 1).astype(np.int64)
        return index[:, :, None, :]


def _as_array(controls: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(controls, torch.Tensor):
        return controls.detach().to("cpu", torch.float64).numpy()
    return np.asarray(controls, dtype=np.float64)
