"""The embedded simulator: exact and S-shot results of any CircuitTemplate batch in torch.

It is the engine of the `local` provider, of the `exact` gradient strategy (torch autograd) and
the reference every other provider is checked against. One class, `Simulator`, two strategies:

- structured (the hDQNN kernel): templates with an `hdqnn_layout`, or their arrays directly,
  angles (B, L, n, 2) and CZ pairs (B, L, P, 2) (a pair (i, i) is no gate):
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
- general (sim_general.py): every other template, compiled once into fused steps (one-qubit
  runs per qubit group as one Kronecker matmul, runs of diagonal gates as one diagonal, other
  gates one contraction each).
Both: the batch is processed in chunks whose state is cache-sized on CPU and bounded on CUDA
(`chunk_rows`); sampling happens per chunk, so peak memory is `simulator_memory_bytes`; marginals
without per-shot outcomes use the chained-binomial sampler (`sample_marginals`). Everything stays
differentiable through torch autograd (in-place updates only without grad).

Seeded sampling: the uniforms come from the seeded generator; the probabilities are a function
of the inputs only (the kernels' reduction orders do not depend on thread scheduling on CPU), so
the same seed gives the same samples on the same machine, library build and thread count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from qhil.quantum.noise import NoiseModel
from qhil.quantum.sim_general import compile_plan, evolve, moments_as_layers
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
from qhil.quantum.template import CircuitTemplate

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


@dataclass(frozen=True)
class _Batch:
    """A batch ready to run: width, rows, a chunk evolver and its depolarising layer count."""

    n_qubits: int
    rows: int
    evolve: Callable[[slice, bool], torch.Tensor]  # (rows, final diagonal?) -> states
    layers: int


class Simulator:
    """Batched state-vector simulation of circuit templates on CPU or CUDA.

    Every method takes a batch as `(circuit, values)`: a CircuitTemplate and its parameter rows
    (B, P), or the hDQNN arrays directly, angles (B, L, n, 2) and CZ pairs (B, L, P, 2).

    Args:
        n_qubits: register width; None takes it from each batch (checked when given).
        device: torch device for the state ("cpu", "cuda", ...).
        precision: "complex64" (default) or "complex128".
        noise: optional readout error and depolarising noise (per hDQNN layer; a general
            template counts ceil(moments / 2) layers).
    """

    def __init__(self, n_qubits: int | None = None, device: str | torch.device = "cpu",
                 precision: str = "complex64", noise: NoiseModel | None = None):
        self.n_qubits = n_qubits
        self.device = torch.device(device)
        self.precision = precision
        self.dtype = {"complex64": torch.complex64, "complex128": torch.complex128}[precision]
        self.noise = noise

    def statevector(self, circuit, values) -> torch.Tensor:
        """Final states (B, 2**n) before measurement (ideal, no noise)."""
        batch = self._batch(circuit, values)
        return torch.cat([batch.evolve(rows, True) for rows in self._chunks(batch)])

    def probabilities(self, circuit, values) -> torch.Tensor:
        """Basis-state probabilities (B, 2**n), depolarising noise included where configured."""
        batch = self._batch(circuit, values)
        return torch.cat([self._chunk_probabilities(batch, rows) for rows in self._chunks(batch)])

    def marginals(self, circuit, values) -> torch.Tensor:
        """Exact P(qubit j reads 1), (B, n), readout error included where configured."""
        marg = marginals_from_probabilities(self.probabilities(circuit, values))
        return marg if self.noise is None else self.noise.readout_marginals(marg)

    def sample(self, circuit, values, shots: int, generator: torch.Generator) -> SampleBatch:
        """Draw `shots` measurements per circuit; same generator state, same samples."""
        batch = self._batch(circuit, values)
        uniform = torch.rand(batch.rows, shots, generator=generator,
                             dtype=torch.float64, device=generator.device).to(self.device)
        indices = torch.cat([self._chunk_indices(batch, rows, uniform[rows])
                             for rows in self._chunks(batch)])
        if self.noise is not None:
            indices = self.noise.flip_readout(indices, batch.n_qubits, generator)
        bits = basis_bits(batch.n_qubits, str(indices.device))[indices]
        return SampleBatch(indices=indices, marginals=bits.mean(dim=1))

    def sample_marginals(self, circuit, values, shots: int,
                         generator: torch.Generator) -> torch.Tensor:
        """S-shot marginals (B, n) without the per-shot outcomes (seeded, same distribution).

        With 2**n <= shots and no readout noise, each circuit's outcome counts are drawn as a
        chain of binomials (multinomial counts) instead of `shots` searches per circuit.
        """
        n = self._width(circuit)
        if self.noise is not None or 2 ** n > shots:
            return self.sample(circuit, values, shots, generator).marginals
        probs = self.probabilities(circuit, values).to(torch.float64)
        counts = multinomial_counts(probs, shots, generator)
        bits = basis_bits(n, str(probs.device)).to(counts.dtype)
        return counts @ bits / shots

    def memory_bytes(self, batch: int, n_qubits: int | None = None) -> int:
        """Peak bytes for a batch of this simulator's circuits (`simulator_memory_bytes`)."""
        n = n_qubits or self.n_qubits
        return simulator_memory_bytes(n, batch, self.precision, self.device)

    # --- batches ------------------------------------------------------------------------

    def _batch(self, circuit, values) -> _Batch:
        if not isinstance(circuit, CircuitTemplate):
            return self._structured(*self._prepare(circuit, values))
        params = self._params(circuit, values)
        layout = circuit.hdqnn_layout
        if layout is not None:
            angles = params.reshape(params.shape[0], layout.n_layers, circuit.n_qubits, 2)
            cz = torch.as_tensor(layout.cz, device=self.device).expand(params.shape[0], -1, -1, -1)
            return self._structured(angles, cz)
        plan = compile_plan(circuit, self.dtype, str(self.device))
        return _Batch(circuit.n_qubits, params.shape[0],
                      lambda rows, final: evolve(plan, params[rows], self.dtype, final),
                      moments_as_layers(circuit))

    def _structured(self, angles: torch.Tensor, cz: torch.Tensor) -> _Batch:
        return _Batch(angles.shape[2], angles.shape[0],
                      lambda rows, final: self._evolve(angles[rows], cz[rows], last_cz=final),
                      angles.shape[1])

    def _width(self, circuit) -> int:
        return circuit.n_qubits if isinstance(circuit, CircuitTemplate) else circuit.shape[2]

    def _chunks(self, batch: _Batch) -> list[slice]:
        rows = chunk_rows(batch.n_qubits, batch.rows, self.precision, self.device)
        return [slice(start, start + rows) for start in range(0, max(batch.rows, 1), rows)]

    def _chunk_probabilities(self, batch: _Batch, rows: slice) -> torch.Tensor:
        # A final diagonal (the last layer's CZ) cannot change measurement probabilities.
        state = batch.evolve(rows, False)
        probs = state.real.square() + state.imag.square()
        if self.noise is not None:
            probs = self.noise.depolarise(probs, n_layers=batch.layers)
        return probs

    def _chunk_indices(self, batch: _Batch, rows: slice, uniform: torch.Tensor) -> torch.Tensor:
        """Basis indices (b, S) of one chunk by inverse-CDF search of its uniforms."""
        probs = self._chunk_probabilities(batch, rows)
        cdf = torch.cumsum(probs.to(torch.float64), dim=-1)
        cdf = cdf / cdf[:, -1:]
        return torch.searchsorted(cdf, uniform).clamp_(max=probs.shape[1] - 1)

    def _params(self, template: CircuitTemplate, params) -> torch.Tensor:
        self._check_width(template.n_qubits)
        params = torch.as_tensor(params, device=self.device)
        if params.dim() != 2 or params.shape[1] != template.n_params:
            raise ValueError(f"params must be (B, {template.n_params}), got {tuple(params.shape)}")
        return params.to(self.dtype.to_real())

    def _prepare(self, angles, cz) -> tuple[torch.Tensor, torch.Tensor]:
        angles = torch.as_tensor(angles, device=self.device)
        cz = torch.as_tensor(cz, device=self.device, dtype=torch.long)
        self._check_width(angles.shape[2])
        return angles, cz

    def _check_width(self, n_qubits: int) -> None:
        if self.n_qubits is not None and n_qubits != self.n_qubits:
            raise ValueError(f"the circuits are for {n_qubits} qubits, simulator has {self.n_qubits}")

    # --- the structured (hDQNN) strategy ----------------------------------------------

    def _evolve(self, angles: torch.Tensor, cz: torch.Tensor, last_cz: bool) -> torch.Tensor:
        """States (b, 2**n) of a chunk after every layer (its final CZ only with `last_cz`)."""
        parts = gate_parts(angles, self.dtype.to_real())
        state = self._initial_state(parts)
        groups = rotation_groups(angles.shape[2])
        factors = self._group_factors(tuple(p[1:] for p in parts), groups)
        for layer in range(1, angles.shape[1]):
            state = self._apply_cz(state, cz[:, layer - 1])
            for group, size in zip(factors, groups, strict=True):
                kron_t = kron_pair(*(f[layer - 1] for f in group)) if len(group) == 2 \
                    else group[0][layer - 1]
                state = apply_leading_group(state, kron_t, size)
        return self._apply_cz(state, cz[:, -1]) if last_cz else state

    @staticmethod
    def _group_factors(parts: tuple[torch.Tensor, torch.Tensor],
                       groups: tuple[int, ...]) -> list[list[torch.Tensor]]:
        """Per group, the TRANSPOSED Kronecker factors of every layer (see `group_factors`)."""
        return [group_factors(parts, start, size, transpose=True)
                for start, size in zip(group_starts(groups), groups, strict=True)]

    @staticmethod
    def _initial_state(parts: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Layer 0's rotations on |0...0>: the product of every gate's first column."""
        columns = torch.complex(parts[0][0, :, :, 0], parts[1][0, :, :, 0])  # (n, 2, B)
        return product_state(columns.permute(2, 0, 1))

    def _apply_cz(self, state: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Multiply by the CZ diagonals of pairs (b, P, 2); a pair (i, i) is the identity."""
        if pairs.shape[1] == 0:
            return state
        n = int(math.log2(state.shape[1]))
        shared = bool((pairs == pairs[:1]).all())
        if self._row_wise(state, n) and (not shared or pairs.shape[1] <= NEGATE_MAX_SHARED_PAIRS):
            return negate_cz_rows_(state, pairs, n, shared)
        signs = self._layer_signs(pairs, shared, n)
        if signs is None:
            return state
        return state * signs if state.requires_grad else state.mul_(signs)

    def _row_wise(self, state: torch.Tensor, n_qubits: int) -> bool:
        """Whether CZs are negated in place (`negate_cz_rows_`): on CPU, without autograd, for
        registers wide enough that a quarter of a row outweighs a call's overhead. A structure the
        whole chunk shares is negated for every row at once if it has few pairs (P / 4 passes
        over the state against one multiply pass, and no cached sign vector per structure)."""
        return (self.device.type == "cpu" and not state.requires_grad
                and n_qubits >= ROW_CZ_MIN_QUBITS)

    def _layer_signs(self, pairs: torch.Tensor, shared: bool, n: int) -> torch.Tensor | None:
        """One layer's CZ diagonal: (2**n,) when the chunk shares one structure, else (b, 2**n)."""
        if shared:
            key = tuple((int(i), int(k)) for i, k in pairs[0].tolist() if i != k)
            if not key:
                return None
            return shared_cz_signs(n, key, str(self.device), self.dtype)
        return cz_signs(n, pairs, self.dtype)


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
