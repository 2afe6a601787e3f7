"""The embedded simulator for any CircuitTemplate: exact and S-shot marginals, batched over rows.

A batch of states is (B, 2**n) complex, qubit 0 the most significant bit (as everywhere in qhil).
Each gate is one batched contraction on a view of the state: a one-qubit gate as
(B, 2**q, 2, 2**(n-q-1)) x (B, 2, 2), a k-qubit gate (k = 0 for a global phase, up to 3) with
its qubits' axes moved last. Runs of one-qubit gates on a qubit are multiplied into one matrix
before they touch the state (they commute with gates on other qubits). Angles are their
expressions evaluated per row (template_angle.py), so constant gates are built once and
parameterised ones per row; matrices come from the one gate table (template_gates.py), in
complex64 or complex128. Everything is torch autograd-differentiable (the "exact" gradient of
`qhil.QuantumLayer`).

hDQNN templates (with an `hdqnn_layout`) are not run here: the `local` provider sends them to
the hDQNN kernel (`BatchedSimulator`), which is faster on that one structure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from qhil.quantum.noise import NoiseModel
from qhil.quantum.template import Angle, CircuitTemplate, Gate
from qhil.quantum.template_gates import matrix


@dataclass(frozen=True)
class TemplateSamples:
    """S-shot samples: basis indices (B, S) (after readout error) and their marginals (B, n)."""

    indices: torch.Tensor
    marginals: torch.Tensor


class TemplateSimulator:
    """Batched state-vector simulation of circuit templates on CPU or CUDA.

    Args:
        device: torch device.
        precision: "complex64" (default) or "complex128".
        noise: a NoiseModel for `n_qubits` of the templates it runs (readout, depolarising with
            hDQNN-equivalent layers = ceil(moments / 2)); None for ideal.
    """

    def __init__(self, device: str | torch.device = "cpu", precision: str = "complex64",
                 noise: NoiseModel | None = None):
        self.device = torch.device(device)
        self.dtype = {"complex64": torch.complex64, "complex128": torch.complex128}[precision]
        self.noise = noise

    def statevector(self, template: CircuitTemplate, params: torch.Tensor) -> torch.Tensor:
        """Final states (B, 2**n) of the template on each parameter row (B, P)."""
        params = self._params(template, params)
        n, batch = template.n_qubits, params.shape[0]
        state = torch.zeros(batch, 2 ** n, dtype=self.dtype, device=self.device)
        state[:, 0] = 1
        pending: dict[int, torch.Tensor] = {}  # qubit -> its one-qubit gates, fused
        for gate in template.gates:
            matrix = gate_matrix(gate, params, self.dtype)
            if len(gate.qubits) == 1:
                (q,) = gate.qubits
                pending[q] = matrix if q not in pending else matrix @ pending[q]
                continue
            for q in gate.qubits:
                if q in pending:
                    state = apply_gate(state, pending.pop(q), (q,), n)
            state = apply_gate(state, matrix, gate.qubits, n)
        for q, matrix in pending.items():
            state = apply_gate(state, matrix, (q,), n)
        return state

    def probabilities(self, template: CircuitTemplate, params: torch.Tensor) -> torch.Tensor:
        """(B, 2**n) basis-state probabilities, depolarising noise included where configured."""
        state = self.statevector(template, params)
        probs = state.real.square() + state.imag.square()
        if self.noise is not None:
            layers = max(1, math.ceil(template.depth()[0] / 2))
            probs = self.noise.depolarise(probs, n_layers=layers)
        return probs

    def marginals(self, template: CircuitTemplate, params: torch.Tensor) -> torch.Tensor:
        """Exact P(qubit j reads 1), (B, n), readout error included where configured."""
        probs = self.probabilities(template, params)
        marg = probs @ basis_bits(template.n_qubits, self.device).to(probs.dtype)
        return marg if self.noise is None else self.noise.readout_marginals(marg)

    def sample(self, template: CircuitTemplate, params: torch.Tensor, shots: int,
               generator: torch.Generator) -> TemplateSamples:
        """`shots` measurements per row; same generator state, same samples."""
        probs = self.probabilities(template, params).to(torch.float64)
        cdf = torch.cumsum(probs, dim=-1)
        cdf = cdf / cdf[:, -1:]
        uniform = torch.rand(probs.shape[0], shots, generator=generator, dtype=torch.float64,
                             device=generator.device).to(cdf.device)
        indices = torch.searchsorted(cdf, uniform).clamp_(max=probs.shape[1] - 1)
        if self.noise is not None:
            indices = self.noise.flip_readout(indices, template.n_qubits, generator)
        bits = basis_bits(template.n_qubits, indices.device)[indices]
        return TemplateSamples(indices=indices, marginals=bits.to(torch.float64).mean(dim=1))

    def _params(self, template: CircuitTemplate, params: torch.Tensor) -> torch.Tensor:
        params = torch.as_tensor(params, device=self.device)
        if params.dim() != 2 or params.shape[1] != template.n_params:
            raise ValueError(f"params must be (B, {template.n_params}), got {tuple(params.shape)}")
        return params.to(self.dtype.to_real())


def basis_bits(n_qubits: int, device: torch.device | str) -> torch.Tensor:
    """(2**n, n) bits of every basis index, qubit 0 first (most significant)."""
    index = torch.arange(2 ** n_qubits, device=device)
    shifts = torch.arange(n_qubits - 1, -1, -1, device=device)
    return (index[:, None] >> shifts) & 1


def apply_gate(state: torch.Tensor, matrix: torch.Tensor, qubits: tuple[int, ...],
               n: int) -> torch.Tensor:
    """Apply a (B or 1, d, d) gate matrix on `qubits` (first = most significant in the matrix);
    a one-qubit gate as one batched matmul on a (B, 2**q, 2, 2**(n-q-1)) view, any other by
    moving its qubits' axes last."""
    batch = state.shape[0]
    if len(qubits) == 1:
        (q,) = qubits
        view = state.reshape(batch, 2 ** q, 2, 2 ** (n - q - 1))
        return (matrix[:, None] @ view).reshape(batch, 2 ** n)
    k = len(qubits)
    axes = [q + 1 for q in qubits]
    last = list(range(n + 1 - k, n + 1))
    moved = torch.movedim(state.reshape(batch, *([2] * n)), axes, last)
    shape = moved.shape
    out = moved.reshape(batch, 2 ** (n - k), 2 ** k) @ matrix.transpose(-1, -2)
    return torch.movedim(out.reshape(shape), last, axes).reshape(batch, 2 ** n)


def gate_matrix(gate: Gate, params: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, d, d) for a parameterised gate, (1, d, d) for a constant one."""
    angles = [_angle(a, params) for a in gate.angles]
    return matrix(gate.name, angles, dtype, params.device)


def _angle(angle: Angle, params: torch.Tensor) -> torch.Tensor:
    if angle.is_const:
        return torch.full((1,), angle.offset, dtype=params.dtype, device=params.device)
    return angle.values(params)
