"""The embedded batched simulator: exact and S-shot marginals of hDQNN circuit batches in torch.

It is the engine of the `local` provider and the reference every other provider is checked
against. Circuits arrive as angles (B, L, n, 2) and CZ pairs (B, L, P, 2) (see
`qhil.quantum.request.SamplingRequest`); a pair (i, i) is no gate.

How it is fast (CPU and CUDA alike):
- Rotations: the qubits are split into groups (`rotation_groups`); each layer's rotations on a
  group are one per-sample Kronecker matrix, built from batch-last real arithmetic
  (`gate_parts`, `group_factors`), and applied by ONE batched matmul that takes the group's
  qubits from the front of the state and writes them to the back (`apply_leading_group`), so
  every matmul has the same large, cache-friendly shape and the state is never transposed.
- CZ: the whole CZ content of a layer is one diagonal of +-1 per structure: a fixed pattern
  (ring, chain, any pattern shared by the batch) is one cached (2**n,) vector multiplied in
  place; data-chosen pairs are a row gather from a small cached sign table (up to 12 qubits).
  From 13 qubits on CPU (no autograd) each CZ instead negates, in place, the quarter of a row
  where both its qubits are 1 (`negate_cz_rows_`); with autograd, one broadcast bit test per
  pair and row (`cz_signs`). The last layer's CZ is skipped for probabilities (diagonal).
- Memory: the batch is processed in chunks whose state is cache-sized on CPU and bounded on
  CUDA (`chunk_rows`); sampling happens per chunk, so peak memory is `simulator_memory_bytes`.
Everything stays differentiable through torch autograd (in-place updates only without grad).

Seeded sampling: the uniforms come from the seeded generator; the probabilities are a function
of the inputs only (the kernels' reduction orders do not depend on thread scheduling on CPU), so
the same seed gives the same samples on the same machine, library build and thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from qhil.quantum.noise import NoiseModel
from qhil.quantum.statevector import (
    apply_leading_group,
    basis_bits,
    cz_signs,
    gate_parts,
    group_factors,
    group_starts,
    kron_pair,
    marginals_from_probabilities,
    negate_cz_rows_,
    product_state,
    rotation_groups,
    shared_cz_signs,
)

CPU_CHUNK_BYTES = 4 * 2**20  # a chunk's state stays in the per-core caches
DEVICE_CHUNK_BYTES = 2**30  # on an accelerator a chunk is bounded by memory only
ROW_CZ_MIN_QUBITS = 13  # from here CZs are in-place negations of quarters (see `_row_wise`)
NEGATE_MAX_SHARED_PAIRS = 4  # a structure shared by the chunk with more pairs is one sign multiply
_ITEM_BYTES = {"complex64": 8, "complex128": 16}


def chunk_rows(n_qubits: int, batch: int, precision: str = "complex64",
               device: str | torch.device = "cpu") -> int:
    """How many circuits one chunk of the batch simulates at once (at least one)."""
    limit = CPU_CHUNK_BYTES if torch.device(device).type == "cpu" else DEVICE_CHUNK_BYTES
    return max(1, min(batch, limit // (_ITEM_BYTES[precision] * 2 ** n_qubits)))


def simulator_memory_bytes(n_qubits: int, batch: int, precision: str = "complex64",
                           device: str | torch.device = "cpu") -> int:
    """Peak bytes the simulator needs for one batch (pure; for resource guards).

    A chunk holds the state, the matmul output, the CZ signs and one temporary (4 states) plus
    its float64 cumulative distribution; the batch's real probabilities come on top (returned
    by `probabilities`; `sample` needs only the chunk's).
    """
    item, amps = _ITEM_BYTES[precision], 2 ** n_qubits
    rows = chunk_rows(n_qubits, batch, precision, device)
    return rows * amps * (4 * item + 8) + batch * amps * item // 2


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
        self.precision = precision
        self.dtype = {"complex64": torch.complex64, "complex128": torch.complex128}[precision]
        self.noise = noise
        self.groups = rotation_groups(n_qubits)

    def statevector(self, angles: torch.Tensor, cz: torch.Tensor) -> torch.Tensor:
        """Final states (B, 2**n) before measurement (ideal, no noise)."""
        angles, cz = self._prepare(angles, cz)
        return torch.cat([self._evolve(angles[rows], cz[rows], last_cz=True)
                          for rows in self._chunks(angles.shape[0])])

    def probabilities(self, angles: torch.Tensor, cz: torch.Tensor) -> torch.Tensor:
        """Basis-state probabilities (B, 2**n), depolarising noise included where configured."""
        angles, cz = self._prepare(angles, cz)
        return torch.cat([self._chunk_probabilities(angles[rows], cz[rows])
                          for rows in self._chunks(angles.shape[0])])

    def marginals(self, angles: torch.Tensor, cz: torch.Tensor) -> torch.Tensor:
        """Exact P(qubit j reads 1), (B, n), readout error included where configured."""
        marg = marginals_from_probabilities(self.probabilities(angles, cz))
        return marg if self.noise is None else self.noise.readout_marginals(marg)

    def sample(self, angles: torch.Tensor, cz: torch.Tensor, shots: int,
               generator: torch.Generator) -> SampleBatch:
        """Draw `shots` measurements per circuit; same generator state, same samples."""
        angles, cz = self._prepare(angles, cz)
        uniform = torch.rand(angles.shape[0], shots, generator=generator,
                             dtype=torch.float64, device=generator.device).to(self.device)
        indices = torch.cat([self._chunk_indices(angles[rows], cz[rows], uniform[rows])
                             for rows in self._chunks(angles.shape[0])])
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

    def memory_bytes(self, batch: int) -> int:
        """Peak bytes for a batch of this simulator's circuits (`simulator_memory_bytes`)."""
        return simulator_memory_bytes(self.n_qubits, batch, self.precision, self.device)

    def _chunks(self, batch: int) -> list[slice]:
        rows = chunk_rows(self.n_qubits, batch, self.precision, self.device)
        return [slice(start, start + rows) for start in range(0, batch, rows)]

    def _chunk_probabilities(self, angles: torch.Tensor, cz: torch.Tensor) -> torch.Tensor:
        # The last layer's CZ is diagonal and cannot change measurement probabilities.
        state = self._evolve(angles, cz, last_cz=False)
        probs = state.real.square() + state.imag.square()
        if self.noise is not None:
            probs = self.noise.depolarise(probs, n_layers=angles.shape[1])
        return probs

    def _chunk_indices(self, angles: torch.Tensor, cz: torch.Tensor,
                       uniform: torch.Tensor) -> torch.Tensor:
        """Basis indices (b, S) of one chunk by inverse-CDF search of its uniforms."""
        probs = self._chunk_probabilities(angles, cz)
        cdf = torch.cumsum(probs.to(torch.float64), dim=-1)
        cdf = cdf / cdf[:, -1:]
        return torch.searchsorted(cdf, uniform).clamp_(max=probs.shape[1] - 1)

    def _evolve(self, angles: torch.Tensor, cz: torch.Tensor, last_cz: bool) -> torch.Tensor:
        """States (b, 2**n) of a chunk after every layer (its final CZ only with `last_cz`)."""
        parts = gate_parts(angles, self.dtype.to_real())
        state = self._initial_state(parts)
        factors = self._group_factors(tuple(p[1:] for p in parts))
        for layer in range(1, angles.shape[1]):
            state = self._apply_cz(state, cz[:, layer - 1])
            for group, size in zip(factors, self.groups, strict=True):
                kron_t = kron_pair(*(f[layer - 1] for f in group)) if len(group) == 2 \
                    else group[0][layer - 1]
                state = apply_leading_group(state, kron_t, size)
        return self._apply_cz(state, cz[:, -1]) if last_cz else state

    def _group_factors(self, parts: tuple[torch.Tensor, torch.Tensor]) -> list[list[torch.Tensor]]:
        """Per group, the TRANSPOSED Kronecker factors of every layer (see `group_factors`)."""
        return [group_factors(parts, start, size, transpose=True)
                for start, size in zip(group_starts(self.groups), self.groups, strict=True)]

    def _initial_state(self, parts: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Layer 0's rotations on |0...0>: the product of every gate's first column."""
        columns = torch.complex(parts[0][0, :, :, 0], parts[1][0, :, :, 0])  # (n, 2, B)
        return product_state(columns.permute(2, 0, 1))

    def _apply_cz(self, state: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Multiply by the CZ diagonals of pairs (b, P, 2); a pair (i, i) is the identity."""
        if pairs.shape[1] == 0:
            return state
        shared = bool((pairs == pairs[:1]).all())
        if self._row_wise(state) and (not shared or pairs.shape[1] <= NEGATE_MAX_SHARED_PAIRS):
            return negate_cz_rows_(state, pairs, self.n_qubits, shared)
        signs = self._layer_signs(pairs, shared)
        if signs is None:
            return state
        return state * signs if state.requires_grad else state.mul_(signs)

    def _row_wise(self, state: torch.Tensor) -> bool:
        """Whether CZs are negated in place (`negate_cz_rows_`): on CPU, without autograd, for
        registers wide enough that a quarter of a row outweighs a call's overhead. A structure the
        whole chunk shares is negated for every row at once if it has few pairs (P / 4 passes
        over the state against one multiply pass, and no cached sign vector per structure)."""
        return (self.device.type == "cpu" and not state.requires_grad
                and self.n_qubits >= ROW_CZ_MIN_QUBITS)

    def _layer_signs(self, pairs: torch.Tensor, shared: bool) -> torch.Tensor | None:
        """One layer's CZ diagonal: (2**n,) when the chunk shares one structure, else (b, 2**n)."""
        if shared:
            key = tuple((int(i), int(k)) for i, k in pairs[0].tolist() if i != k)
            if not key:
                return None
            return shared_cz_signs(self.n_qubits, key, str(self.device), self.dtype)
        return cz_signs(self.n_qubits, pairs, self.dtype)

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
