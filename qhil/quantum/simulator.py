"""The embedded batched simulator: exact and S-shot marginals of hDQNN circuit batches in torch.

It is the engine of the `local` provider and the reference every other provider is checked
against. Circuits arrive as angles (B, L, n, 2) and CZ pairs (B, L, P, 2) (see
`qhil.execution.request.SamplingRequest`); a pair (i, i) is no gate.

How it is fast (CPU and CUDA alike): the qubits are split into groups (`default_groups`: at most
five per group); each layer's rotations on a group are one per-sample Kronecker matrix, built
from batch-last real arithmetic (`gate_parts`, `group_kron`), and applied by ONE batched matmul
on a view of the state (`apply_group`: the first group from the left, the last from the right,
middle groups repeated over the leading index), so the state is never transposed. A layer's CZ
is one row gather from a cached sign table and one same-dtype multiply; the last layer's CZ is
skipped for probabilities (diagonal). Everything stays differentiable through torch autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from qhil.quantum.noise import NoiseModel
from qhil.quantum.statevector import (
    apply_group,
    apply_signs,
    basis_bits,
    cz_sign_table_as,
    default_groups,
    gate_parts,
    group_factors,
    group_starts,
    kron_pair,
    marginals_from_probabilities,
    product_state,
)


@dataclass(frozen=True)
class SampleBatch:
    """S-shot samples of a batch: basis indices (B, S) (after readout error) and their marginals."""

    indices: torch.Tensor
    marginals: torch.Tensor


class BatchedSimulator:
    """Batched state-vector simulation of the hDQNN ansatz on CPU or CUDA.

    Args:
        n_qubits: register width.
        device: torch device for the state ("cpu", "cuda", ...).
        precision: "complex64" (default) or "complex128".
        noise: optional readout error and per-layer depolarising noise.
    """

    def __init__(self, n_qubits: int, device: str | torch.device = "cpu",
                 precision: str = "complex64", noise: NoiseModel | None = None):
        self.n_qubits = n_qubits
        self.device = torch.device(device)
        self.dtype = {"complex64": torch.complex64, "complex128": torch.complex128}[precision]
        self.noise = noise
        self.groups = default_groups(n_qubits)

    def statevector(self, angles: torch.Tensor, cz: torch.Tensor) -> torch.Tensor:
        """Final states (B, 2**n) before measurement (ideal, no noise)."""
        angles, cz = self._prepare(angles, cz)
        state = self._state_for_measurement(angles, cz)
        return self._apply_cz(state, cz[:, -1])

    def probabilities(self, angles: torch.Tensor, cz: torch.Tensor) -> torch.Tensor:
        """Basis-state probabilities (B, 2**n), depolarising noise included where configured."""
        angles, cz = self._prepare(angles, cz)
        state = self._state_for_measurement(angles, cz)
        probs = state.real.square() + state.imag.square()
        if self.noise is not None:
            probs = self.noise.depolarise(probs, n_layers=angles.shape[1])
        return probs

    def marginals(self, angles: torch.Tensor, cz: torch.Tensor) -> torch.Tensor:
        """Exact P(qubit j reads 1), (B, n), readout error included where configured."""
        marg = marginals_from_probabilities(self.probabilities(angles, cz))
        return marg if self.noise is None else self.noise.readout_marginals(marg)

    def sample(self, angles: torch.Tensor, cz: torch.Tensor, shots: int,
               generator: torch.Generator) -> SampleBatch:
        """Draw `shots` measurements per circuit; same generator state, same samples."""
        probs = self.probabilities(angles, cz)
        cdf = torch.cumsum(probs.to(torch.float64), dim=-1)
        cdf = cdf / cdf[:, -1:]
        uniform = torch.rand(probs.shape[0], shots, generator=generator,
                             dtype=torch.float64, device=generator.device)
        indices = torch.searchsorted(cdf, uniform.to(cdf.device)).clamp_(max=probs.shape[1] - 1)
        if self.noise is not None:
            indices = self.noise.flip_readout(indices, self.n_qubits, generator)
        bits = basis_bits(self.n_qubits, str(indices.device))[indices]
        return SampleBatch(indices=indices, marginals=bits.mean(dim=1))

    def sample_marginals(self, angles: torch.Tensor, cz: torch.Tensor, shots: int,
                         generator: torch.Generator) -> torch.Tensor:
        """S-shot marginals (B, n) without the per-shot outcomes (seeded, same distribution).

        With 2**n <= shots and no readout noise, each circuit's outcome counts are drawn as a
        chain of binomials (multinomial counts) instead of `shots` searches per circuit.
        """
        if self.noise is not None or 2 ** self.n_qubits > shots:
            return self.sample(angles, cz, shots, generator).marginals
        probs = self.probabilities(angles, cz).to(torch.float64)
        counts = multinomial_counts(probs, shots, generator)
        bits = basis_bits(self.n_qubits, str(probs.device)).to(counts.dtype)
        return counts @ bits / shots

    def _state_for_measurement(self, angles: torch.Tensor, cz: torch.Tensor) -> torch.Tensor:
        # The last layer's CZ is diagonal and cannot change measurement probabilities.
        parts = gate_parts(angles, self.dtype.to_real())
        state = self._initial_state(parts)
        factors = self._group_factors(tuple(p[1:] for p in parts))
        for layer in range(1, angles.shape[1]):
            state = self._apply_cz(state, cz[:, layer - 1])
            krons = [kron_pair(*(f[layer - 1] for f in group)) if len(group) == 2
                     else group[0][layer - 1] for group in factors]
            state = self._apply_rotations(state, krons)
        return state

    def _group_factors(self, parts: tuple[torch.Tensor, torch.Tensor]) -> list[list[torch.Tensor]]:
        """Per group, the Kronecker factors of every layer at once (see `group_factors`)."""
        return [group_factors(parts, start, size, transpose=start + size == self.n_qubits > size)
                for start, size in zip(group_starts(self.groups), self.groups, strict=True)]

    def _initial_state(self, parts: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Layer 0's rotations on |0...0>: the product of every gate's first column."""
        columns = torch.complex(parts[0][0, :, :, 0], parts[1][0, :, :, 0])  # (n, 2, B)
        return product_state(columns.permute(2, 0, 1))

    def _apply_rotations(self, state: torch.Tensor, krons: list[torch.Tensor]) -> torch.Tensor:
        """One layer's RX, RY on every qubit: one batched matmul per qubit group."""
        starts = group_starts(self.groups)
        for kron, start, size in zip(krons, starts, self.groups, strict=True):
            state = apply_group(state, kron, start, size, self.n_qubits)
        return state

    def _apply_cz(self, state: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Multiply by the CZ diagonals of pairs (B, P, 2); a pair (i, i) is the identity."""
        n, (batch, n_pairs) = self.n_qubits, pairs.shape[:2]
        if n_pairs == 0:
            return state
        table = cz_sign_table_as(n, str(self.device), self.dtype).reshape(n * n, -1)
        signs = table.index_select(0, (pairs[..., 0] * n + pairs[..., 1]).reshape(-1))
        signs = signs if n_pairs == 1 else signs.reshape(batch, n_pairs, -1).prod(dim=1)
        return apply_signs(state, signs)

    def _prepare(self, angles: torch.Tensor, cz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angles = torch.as_tensor(angles, device=self.device)
        cz = torch.as_tensor(cz, device=self.device, dtype=torch.long)
        if angles.shape[2] != self.n_qubits:
            raise ValueError(f"angles are for {angles.shape[2]} qubits, simulator has {self.n_qubits}")
        return angles, cz


def multinomial_counts(probs: torch.Tensor, shots: int, generator: torch.Generator) -> torch.Tensor:
    """(B, K) outcome counts summing to `shots` per row: K - 1 conditional binomial draws."""
    probs = probs / probs.sum(dim=1, keepdim=True)
    left = torch.full((probs.shape[0],), float(shots), dtype=probs.dtype, device=probs.device)
    mass = torch.ones_like(left)
    counts = torch.zeros_like(probs)
    for k in range(probs.shape[1] - 1):
        p = (probs[:, k] / mass.clamp_min(1e-300)).clamp(0.0, 1.0)
        counts[:, k] = torch.binomial(left, p, generator=generator)
        left = left - counts[:, k]
        mass = mass - probs[:, k]
    counts[:, -1] = left
    return counts
