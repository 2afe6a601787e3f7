"""Noise for the embedded simulator: readout error and a per-layer depolarising channel.

The depolarising channel is global (rho -> (1-p) rho + p I / 2**n after every layer). Unitaries
map I to I, so after L layers the state is F rho_ideal + (1-F) I / 2**n with F = (1-p)**L: exact
for this model, and cheap. Readout error flips each qubit's reading independently with
P(read 1 | 0) = p01 and P(read 0 | 1) = p10.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class NoiseModel:
    """Readout flip probabilities per qubit and the depolarising probability per layer."""

    readout_p01: tuple[float, ...] = ()
    readout_p10: tuple[float, ...] = ()
    depolarizing_per_layer: float = 0.0

    @classmethod
    def from_error_rates(cls, n_qubits: int, *, gate_1q_error: float, gate_2q_error: float,
                         readout_p01: float, readout_p10: float,
                         cz_per_layer: int = 1) -> NoiseModel:
        """Per-layer depolarising probability from gate errors: 2n one-qubit gates and the CZs."""
        keep = (1 - gate_1q_error) ** (2 * n_qubits) * (1 - gate_2q_error) ** cz_per_layer
        return cls(readout_p01=(readout_p01,) * n_qubits, readout_p10=(readout_p10,) * n_qubits,
                   depolarizing_per_layer=1 - keep)

    def depolarise(self, probs: torch.Tensor, n_layers: int) -> torch.Tensor:
        fidelity = (1 - self.depolarizing_per_layer) ** n_layers
        if fidelity >= 1:
            return probs
        return fidelity * probs + (1 - fidelity) / probs.shape[-1]

    def readout_marginals(self, marginals: torch.Tensor) -> torch.Tensor:
        if not self.readout_p01:
            return marginals
        p01, p10 = self._rates(marginals)
        return p01 + marginals * (1 - p01 - p10)

    def flip_readout(self, indices: torch.Tensor, n_qubits: int,
                     generator: torch.Generator) -> torch.Tensor:
        """Flip the bits of sampled basis indices (B, S) with the readout error rates."""
        if not self.readout_p01:
            return indices
        shifts = torch.arange(n_qubits - 1, -1, -1, device=indices.device)
        bits = (indices.unsqueeze(-1) >> shifts) & 1
        p01, p10 = self._rates(bits.to(torch.float64))
        flip_prob = torch.where(bits == 1, p10, p01)
        uniform = torch.rand(bits.shape, generator=generator, dtype=torch.float64,
                             device=generator.device).to(indices.device)
        bits = bits ^ (uniform < flip_prob).to(bits.dtype)
        return (bits << shifts).sum(dim=-1)

    def _rates(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p01 = torch.tensor(self.readout_p01, dtype=like.dtype, device=like.device)
        p10 = torch.tensor(self.readout_p10, dtype=like.dtype, device=like.device)
        return p01, p10
