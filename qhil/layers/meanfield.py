"""A physics-informed qtDNN: a mean-field simulation of the circuit plus a learned residual.

The mean-field model keeps one Bloch vector per qubit (the product-state approximation):
    RX(a)      rotates (x, y, z) about x:  y, z <- y cos a - z sin a, y sin a + z cos a
    RY(b)      rotates about y:            x, z <- x cos b + z sin b, -x sin b + z cos b
    RZ(c)      rotates about z:            x, y <- x cos c - y sin c, x sin c + y cos c
    CZ(i, k)   dephases each qubit by the other's <Z>: (x_i, y_i) *= z_k, (x_k, y_k) *= z_i
    P(1) = (1 - z) / 2;  a Z word's <Z_a Z_b ...> = z_a z_b ... (P(odd) = (1 - that) / 2)
The CZ rule is exact for the reduced states when the two qubits are uncorrelated before the gate;
what it misses (correlations, the device's noise) the residual MLP learns from the (q_i, q_o)
pairs: output = sigmoid(logit(prior) + MLP(trig features)), the MLP's last layer starting at
zero. It costs O(gates) per sample at any qubit count, so unlike an exact simulation it scales
with the device; it knows the circuit's gate list, which the paper's black-box qtDNN does not.

It applies to the hDQNN ansatz (`meanfield_marginals`) and to any template whose gates are rx, ry,
rz, cz and id (`template_prior`, `QuantumLayer(prior="mean-field")`); a template with any other
gate is refused, the message naming the gate.

The hDQNN prior runs in every actor update, target action and refit of a training run, on small
(B, n) tensors, so its cost is per-op overhead: `meanfield_marginals` is one autograd Function
(`_MeanField`) whose forward takes every layer's cos and sin in one call each and applies a
layer's CZ gates as per-qubit factors (`CZRound`: z of each qubit's partner; a CZ leaves every z
unchanged, so a layer's CZs commute), and whose backward is written by hand, running the layers
in reverse from the saved components. `meanfield_reference` is the plain gate-by-gate form
(`rotate`, `dephase`, autograd) it matches to float rounding, values and gradients.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable

from qhil.errors import RequestValidationError
from qhil.layers import meanfield_kernel as kernel
from qhil.layers.hdqnn import ACTIVATIONS, TrigFeatures
from qhil.layers.outputs import Outputs
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.template import CircuitTemplate

EPS = 1e-4
MEANFIELD_GATES = ("rx", "ry", "rz", "cz", "id")
Bloch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def rotate(axis: str, angle: torch.Tensor, bloch: Bloch) -> Bloch:
    """The Bloch vectors (B, n) rotated about `axis` by `angle` (broadcast against them)."""
    x, y, z = bloch
    c, s = torch.cos(angle), torch.sin(angle)
    if axis == "x":
        return x, y * c - z * s, y * s + z * c
    if axis == "y":
        return x * c + z * s, y, -x * s + z * c
    return x * c - y * s, x * s + y * c, z


def dephase(bloch: Bloch, i: torch.Tensor, k: torch.Tensor) -> Bloch:
    """CZ(i, k) per sample, i and k (B, 1) (i == k: no gate)."""
    x, y, z = bloch
    same = i == k
    zi, zk = z.gather(1, i), z.gather(1, k)
    factor = torch.ones_like(z).scatter(1, i, torch.where(same, torch.ones_like(zk), zk))
    factor = factor.scatter(1, k, torch.where(same, torch.ones_like(zi), zi))
    return x * factor, y * factor, z


def _start(batch: int, n: int, like: torch.Tensor) -> Bloch:
    x = like.new_zeros(batch, n)
    return x, x.clone(), torch.ones_like(x)


class CZRound(NamedTuple):
    """One CZ factor per qubit: qubit j's (x, y) are scaled by z[partner[j]] where on[j] is 1
    (off = 1 - on; on is 0 for a qubit without a partner, the factor then exactly 1)."""

    partner: torch.Tensor
    on: torch.Tensor
    off: torch.Tensor

    def factor(self, z: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.off, z.gather(1, self.partner), self.on)


Layer = tuple[CZRound, ...]  # a layer's CZ gates; they commute (a CZ leaves every z as it is)


def meanfield_marginals(ansatz: HDQNNAnsatz, controls: torch.Tensor) -> torch.Tensor:
    """P(qubit j reads 1) of the hDQNN ansatz under the mean-field model, (B, n): a dozen ops
    on (B, n) tensors a layer and a hand-written backward (`_MeanField`; the module docstring
    says why); equal to `meanfield_reference` to float rounding, values and gradients."""
    batch, n, layers = controls.shape[0], ansatz.n_qubits, ansatz.n_layers
    blocks = controls.reshape(batch, layers, ansatz.per_layer)
    angles = blocks[:, :, :2 * n].reshape(batch, layers, n, 2).permute(3, 1, 0, 2)  # (2, L, B, n)
    if ansatz.entangler == "data":
        cz = _data_layers(blocks[:, :, 2 * n:], n)
    else:
        cz = [_fixed_layer(ansatz, batch, controls)] * layers
    if torch.jit.is_tracing():  # a traced graph (qhil.layers.graphs) records the plain ops
        return _forward(angles.contiguous(), cz, [])
    return _MeanField.apply(angles.contiguous(), cz)


def _data_layers(index: torch.Tensor, n: int) -> list[Layer]:
    """The data entangler's CZ(i, k) of every layer from (B, L, 2) index columns (rounded and
    clamped): qubit i's partner is k, k's is i (on is 0 for both where i == k: no gate)."""
    pairs = index.detach().round().clamp(0, n - 1).transpose(0, 1)  # (L, B, 2)
    gate = (pairs[..., 0:1] != pairs[..., 1:2]).to(index.dtype).expand(pairs.shape)
    pairs = pairs.long()
    on = index.new_zeros(*pairs.shape[:2], n).scatter_add_(2, pairs, gate)
    partner = pairs.new_zeros(on.shape).scatter_(2, pairs, pairs.flip(-1))
    layers = zip(partner.unbind(0), on.unbind(0), (1 - on).unbind(0), strict=True)  # (unbind: traceable)
    return [(CZRound(p, o, f),) for p, o, f in layers]


def _fixed_layer(ansatz: HDQNNAnsatz, batch: int, like: torch.Tensor) -> Layer:
    """A fixed entangler's layer: round r pairs each qubit with its r-th neighbour."""
    n, neighbours = ansatz.n_qubits, _neighbours(ansatz)
    rounds = []
    for r in range(max(map(len, neighbours))):
        on = like.new_tensor([float(r < len(nb)) for nb in neighbours])
        partner = like.new_tensor([nb[r] if r < len(nb) else q for q, nb in enumerate(neighbours)],
                                  dtype=torch.long)
        rounds.append(CZRound(partner.expand(batch, n), on, 1 - on))
    return tuple(rounds)


def _neighbours(ansatz: HDQNNAnsatz) -> list[list[int]]:
    """Each qubit's CZ partners in one layer of a fixed entangler."""
    neighbours: list[list[int]] = [[] for _ in range(ansatz.n_qubits)]
    for i, k in ansatz.fixed_pairs():
        neighbours[i].append(k)
        neighbours[k].append(i)
    return neighbours


class _MeanField(torch.autograd.Function):
    """Angles (2, L, B, n) (RX's a, RY's b) -> P(1) (B, n); the backward runs the layers in
    reverse with the saved Bloch components (y, z after RX; x, z after RY; the CZ factors)."""

    @staticmethod
    def forward(ctx, angles: torch.Tensor, cz: list[Layer]) -> torch.Tensor:
        ctx.saved = []
        return _forward(angles, cz, ctx.saved)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        gz = grad * -0.5
        gx = gy = torch.zeros_like(gz)
        layers = len(ctx.saved)
        ga, gb = [None] * layers, [None] * layers
        for layer in reversed(range(layers)):
            gx, gy, gz, ga[layer], gb[layer] = _layer_backward(gx, gy, gz, *ctx.saved[layer])
        return torch.stack([torch.stack(ga), torch.stack(gb)]), None


def _forward(angles: torch.Tensor, cz: list[Layer], saved: list) -> torch.Tensor:
    """The layers in order; each one's trig, components and gates appended to `saved`."""
    (ca, cb), (sa, sb) = torch.cos(angles).unbind(0), torch.sin(angles).unbind(0)
    trig = zip(ca.unbind(0), sa.unbind(0), cb.unbind(0), sb.unbind(0), strict=True)
    bloch = None
    for layer_trig, gates in zip(trig, cz, strict=True):
        x2, y1, z1, z2, factors = parts = _layer(bloch, layer_trig, gates)
        saved.append((layer_trig, parts, gates))
        f = _product(factors)
        bloch = x2 * f, y1 * f, z2
    return (1 - bloch[2]) / 2


def _layer(bloch: Bloch | None, trig, cz: Layer):
    """RY(b) RX(a) on every qubit (bloch None: the start, (0, 0, 1)), then the CZ factors of
    the rotated z; returns x, z after RY, y, z after RX and the factors."""
    ca, sa, cb, sb = trig
    if bloch is None:
        y1, z1, x2, z2 = -sa, ca, ca * sb, ca * cb
    else:
        x, y, z = bloch
        y1, z1 = torch.addcmul(y * ca, z, sa, value=-1), torch.addcmul(y * sa, z, ca)
        x2, z2 = torch.addcmul(x * cb, z1, sb), torch.addcmul(z1 * cb, x, sb, value=-1)
    return x2, y1, z1, z2, [r.factor(z2) for r in cz]


def _product(factors: list[torch.Tensor]) -> torch.Tensor | float:
    """A layer's CZ factors multiplied (1.0 where the layer has no CZ)."""
    return functools.reduce(torch.mul, factors) if factors else 1.0


def _layer_backward(gx, gy, gz, trig, saved, cz: Layer):
    """The gradients before a layer from those after it, and the layer's angles' (a, b)."""
    ca, sa, cb, sb = trig
    x2, y1, z1, z2, factors = saved
    f = _product(factors)
    gx2, gy1 = gx * f, gy * f
    gz2 = _dephase_backward(torch.addcmul(gx * x2, gy, y1), gz, cz, factors)
    gb = torch.addcmul(gx2 * z2, gz2, x2, value=-1)
    gx, gz1 = torch.addcmul(gx2 * cb, gz2, sb, value=-1), torch.addcmul(gx2 * sb, gz2, cb)
    ga = torch.addcmul(gz1 * y1, gy1, z1, value=-1)
    gy, gz = torch.addcmul(gy1 * ca, gz1, sa), torch.addcmul(gz1 * ca, gy1, sa, value=-1)
    return gx, gy, gz, ga, gb


def _dephase_backward(gf, gz, cz: Layer, factors: list[torch.Tensor]) -> torch.Tensor:
    """gz plus what flows through the CZ factors (gf: the gradient of their product)."""
    for r, round_ in enumerate(cz):
        src = gf * round_.on
        for other in factors[:r] + factors[r + 1:]:
            src = src * other
        gz = gz.scatter_add(1, round_.partner, src)
    return gz


def meanfield_reference(ansatz: HDQNNAnsatz, controls: torch.Tensor) -> torch.Tensor:
    """`meanfield_marginals` gate by gate (rotate, dephase), as the rules above read."""
    batch, n, layers = controls.shape[0], ansatz.n_qubits, ansatz.n_layers
    blocks = controls.reshape(batch, layers, ansatz.per_layer)
    bloch = _start(batch, n, controls)
    for layer in range(layers):
        bloch = rotate("x", blocks[:, layer, 0:2 * n:2], bloch)
        bloch = rotate("y", blocks[:, layer, 1:2 * n:2], bloch)
        pairs = blocks[:, layer, 2 * n:].detach().round().clamp(0, n - 1).long() \
            if ansatz.entangler == "data" else None
        for i, k in _pairs(ansatz, pairs, batch, controls.device):
            bloch = dephase(bloch, i, k)
    return (1 - bloch[2]) / 2


def _pairs(ansatz: HDQNNAnsatz, data: torch.Tensor | None, batch: int, device):
    if data is not None:
        return [(data[:, 0:1], data[:, 1:2])]
    fixed = [torch.tensor([[i, k]], device=device).expand(batch, 2) for i, k in ansatz.fixed_pairs()]
    return [(p[:, 0:1], p[:, 1:2]) for p in fixed]


def template_prior(template: CircuitTemplate, outputs: Outputs) -> Callable[[torch.Tensor], torch.Tensor]:
    """The mean-field P(odd) of each output word, rows (B, P) -> (B, W); refused with the
    reason for a template with a gate outside MEANFIELD_GATES."""
    for index, gate in enumerate(template.gates):
        if gate.name not in MEANFIELD_GATES:
            raise RequestValidationError(
                f"the mean-field prior does not apply to this circuit: gate {index} "
                f"({gate.name} on {gate.qubits}) has no product-state rule (it knows "
                f"{', '.join(MEANFIELD_GATES)}); use the default surrogate")
    return functools.partial(_template_odd, template, outputs)


def _template_odd(template: CircuitTemplate, outputs: Outputs, x: torch.Tensor) -> torch.Tensor:
    bloch = _start(x.shape[0], template.n_qubits, x)
    for gate in template.gates:
        if gate.name == "cz":
            i, k = (torch.full((x.shape[0], 1), q, device=x.device) for q in gate.qubits)
            bloch = dephase(bloch, i, k)
        elif gate.name != "id":
            bloch = _rotate_one(gate.name[1], gate.qubits[0], _angle(gate.angles[0], x), bloch)
    z = bloch[2]
    return torch.stack([(1 - z[:, list(w)].prod(dim=1)) / 2 for w in outputs.words], dim=1)


def _rotate_one(axis: str, qubit: int, angle: torch.Tensor, bloch: Bloch) -> Bloch:
    part = rotate(axis, angle, tuple(c[:, qubit] for c in bloch))
    return tuple(torch.cat([c[:, :qubit], p[:, None], c[:, qubit + 1:]], dim=1)
                 for c, p in zip(bloch, part, strict=True))


def _angle(angle, x: torch.Tensor) -> torch.Tensor:
    """(B,) values of a template angle (any polynomial of the parameters), differentiable."""
    return angle.values(x)


class MeanFieldQtDNN(nn.Module):
    """qtDNN = sigmoid(logit(mean-field prior) + residual MLP); fitted like any QtDNN.

    Args:
        circuit: the hDQNN ansatz, or a (prior, n_params, n_outputs) triple of a template
            (`template_meanfield`).
    """

    def __init__(self, circuit: HDQNNAnsatz | tuple, hidden: list[int], activation: str = "gelu"):
        super().__init__()
        if isinstance(circuit, HDQNNAnsatz):
            self.ansatz = circuit
            prior, features, width = None, TrigFeatures(circuit), circuit.n_qubits
        else:
            prior, n_params, width = circuit
            features = TrigFeatures(n_angles=n_params)
        self._prior, self.features = prior, features
        self.use_kernel = True
        widths = [features.dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
        last = nn.Linear(widths[-1], width)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.residual = nn.Sequential(*layers, last)

    def prior(self, x: torch.Tensor) -> torch.Tensor:
        """The mean-field outputs alone."""
        return self._prior(x) if self._prior is not None else meanfield_marginals(self.ansatz, x)

    def prior_logit(self, controls: torch.Tensor) -> torch.Tensor:
        """logit of the (clamped) mean-field outputs: the residual's offset. No parameters, so
        the refit computes it once for all its tiny batches (qhil.layers.refit)."""
        if self._compiled(controls):
            return kernel.encode(controls, self._layout)[1]
        return torch.logit(self.prior(controls).clamp(EPS, 1 - EPS))

    def encode(self, controls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The residual's input features and the prior's logits: on the CPU, for the hDQNN
        ansatz, one compiled pass (qhil.layers.meanfield_kernel), else the torch ops."""
        if self._compiled(controls):
            return kernel.encode(controls, self._layout)
        return self.features(controls), self.prior_logit(controls)

    def forward(self, controls: torch.Tensor) -> torch.Tensor:
        features, logit = self.encode(controls)
        return torch.sigmoid(logit + self.residual(features))

    @property
    def compiled(self) -> bool:
        """Whether CPU calls run the compiled kernel: the hDQNN ansatz, numba present, and
        `use_kernel` (True; False runs the torch ops, the same values to float rounding)."""
        return self.use_kernel and self._prior is None and kernel.available()

    def _compiled(self, controls: torch.Tensor) -> bool:
        return (self.compiled and controls.device.type == "cpu" and not torch.jit.is_tracing()
                and controls.dtype in (torch.float32, torch.float64))

    @functools.cached_property
    def _layout(self) -> kernel.ControlLayout:
        a = self.ansatz
        fixed = np.array(a.fixed_pairs(), dtype=np.int64).reshape(-1, 2)
        return kernel.ControlLayout(a.n_layers, a.n_qubits, a.per_layer, a.entangler == "data", fixed)


def template_meanfield(template: CircuitTemplate, outputs: Outputs, hidden: list[int],
                       activation: str = "gelu") -> MeanFieldQtDNN:
    """The mean-field qtDNN of a template's outputs (refused, with the reason, where the
    product-state rules do not apply)."""
    prior = template_prior(template, outputs)
    return MeanFieldQtDNN((prior, template.n_params, len(outputs.words)), hidden, activation)
