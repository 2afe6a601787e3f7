"""The embedded simulator for any CircuitTemplate: exact and S-shot marginals, batched over rows.

A batch of states is (B, 2**n) complex, qubit 0 the most significant bit (as everywhere in qhil).
Each gate is one batched contraction on a view of the state: a one-qubit gate as
(B, 2**q, 2, 2**(n-q-1)) x (B, 2, 2), a two-qubit gate as a (B, 2, 2, 2, 2) tensor on its two
axes; angles come from `scale * params[:, column] + offset`, so constant gates are built once
and parameterised ones per row. Everything is torch autograd-differentiable (the "exact"
gradient of `qhil.QuantumLayer`).

hDQNN templates (with an `hdqnn_layout`) are not run here: the `local` provider sends them to
the hDQNN kernel (`BatchedSimulator`), which is faster on that one structure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from qhil.quantum.noise import NoiseModel
from qhil.quantum.template import Angle, CircuitTemplate, Gate


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
        for gate in template.gates:
            state = apply_gate(state, gate_matrix(gate, params, self.dtype), gate.qubits, n)
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
    """Apply a (B or 1, d, d) gate matrix on `qubits` (first = most significant in the matrix)."""
    batch = state.shape[0]
    if len(qubits) == 1:
        (q,) = qubits
        view = state.reshape(batch, 2 ** q, 2, 2 ** (n - q - 1))
        return (matrix[:, None] @ view).reshape(batch, -1)
    a, b = qubits
    if a > b:  # put the lower qubit first: swap the matrix's two qubit factors
        a, b = b, a
        matrix = matrix[:, SWAP_ORDER][:, :, SWAP_ORDER]
    view = state.reshape(batch, 2 ** a, 2, 2 ** (b - a - 1), 2, 2 ** (n - b - 1))
    moved = view.permute(0, 1, 3, 5, 2, 4).reshape(batch, -1, 4)
    out = (moved @ matrix.transpose(-1, -2)).reshape(batch, 2 ** a, 2 ** (b - a - 1),
                                                     2 ** (n - b - 1), 2, 2)
    return out.permute(0, 1, 4, 2, 5, 3).reshape(batch, -1)


SWAP_ORDER = [0, 2, 1, 3]
"""Basis order of a two-qubit matrix with its qubits exchanged."""


def gate_matrix(gate: Gate, params: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, d, d) for a parameterised gate, (1, d, d) for a constant one."""
    if gate.name in CONSTANT_GATES:
        return _constant(gate.name, dtype, params.device)
    angles = [_angle(a, params) for a in gate.angles]
    base = CONTROLLED_BASE.get(gate.name, gate.name)
    single = ROTATIONS[base](*angles).to(dtype)
    return controlled(single) if base != gate.name else single


def _angle(angle: Angle, params: torch.Tensor) -> torch.Tensor:
    if angle.column is None:
        return torch.full((1,), angle.offset, dtype=params.dtype, device=params.device)
    return angle.scale * params[:, angle.column] + angle.offset


def _matrix(entries: list[torch.Tensor]) -> torch.Tensor:
    """Four complex (B,) entries, row-major -> (B, 2, 2)."""
    return torch.stack(entries, dim=-1).reshape(-1, 2, 2)


def _rx(t: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(t / 2), torch.sin(t / 2)
    z = torch.zeros_like(c)
    return _matrix([torch.complex(c, z), torch.complex(z, -s), torch.complex(z, -s),
                    torch.complex(c, z)])


def _ry(t: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(t / 2), torch.sin(t / 2)
    z = torch.zeros_like(c)
    return _matrix([torch.complex(c, z), torch.complex(-s, z), torch.complex(s, z),
                    torch.complex(c, z)])


def _rz(t: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(t / 2), torch.sin(t / 2)
    z = torch.zeros_like(c)
    zero = torch.complex(z, z)
    return _matrix([torch.complex(c, -s), zero, zero, torch.complex(c, s)])


def _u3(theta: torch.Tensor, phi: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    theta, phi, lam = torch.broadcast_tensors(theta, phi, lam)
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    e = lambda x: torch.complex(torch.cos(x), torch.sin(x))  # noqa: E731
    return _matrix([torch.complex(c, torch.zeros_like(c)), -e(lam) * s, e(phi) * s,
                    e(phi + lam) * c])


ROTATIONS = {"rx": _rx, "ry": _ry, "rz": _rz, "u3": _u3}
CONTROLLED_BASE = {"crx": "rx", "cry": "ry", "crz": "rz", "cu3": "u3"}


def controlled(single: torch.Tensor) -> torch.Tensor:
    """(B, 2, 2) U -> (B, 4, 4) |0><0| (x) I + |1><1| (x) U, control the first (high) qubit."""
    batch = single.shape[0]
    eye = torch.eye(2, dtype=single.dtype, device=single.device).expand(batch, 2, 2)
    return torch.cat([torch.cat([eye, torch.zeros_like(eye)], -1),
                      torch.cat([torch.zeros_like(eye), single], -1)], -2)


_S2 = 1 / math.sqrt(2)
CONSTANT_GATES: dict[str, list[list[complex]]] = {
    "h": [[_S2, _S2], [_S2, -_S2]],
    "x": [[0, 1], [1, 0]],
    "sx": [[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]],
    "cz": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, -1]],
    "cx": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
    "swap": [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]],
}
_CACHE: dict[tuple, torch.Tensor] = {}


def _constant(name: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    key = (name, dtype, str(device))
    if key not in _CACHE:  # a normal tensor even when first built under inference_mode
        with torch.inference_mode(False):
            _CACHE[key] = torch.tensor(CONSTANT_GATES[name], dtype=dtype, device=device)[None]
    return _CACHE[key]
