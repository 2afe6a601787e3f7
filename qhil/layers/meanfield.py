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
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn

from qhil.errors import RequestValidationError
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


def meanfield_marginals(ansatz: HDQNNAnsatz, controls: torch.Tensor) -> torch.Tensor:
    """P(qubit j reads 1) of the hDQNN ansatz under the mean-field model, (B, n).

    Every layer's cos and sin come from one call each, and the data entangler's CZ masks are
    made once for all layers, so a layer is a dozen small ops (forward and backward): the prior
    runs in every actor update, target action and refit (`meanfield_reference` is the plain
    gate-by-gate form it matches to float rounding)."""
    batch, n, layers = controls.shape[0], ansatz.n_qubits, ansatz.n_layers
    blocks = controls.reshape(batch, layers, ansatz.per_layer)
    angles = blocks[:, :, :2 * n]
    cos, sin = torch.cos(angles).unbind(1), torch.sin(angles).unbind(1)
    masks = _cz_masks(blocks[:, :, 2 * n:], n) if ansatz.entangler == "data" else None
    x, y, z = _start(batch, n, controls)
    for layer in range(layers):
        ca, cb = cos[layer][:, 0::2], cos[layer][:, 1::2]
        sa, sb = sin[layer][:, 0::2], sin[layer][:, 1::2]
        y, z = torch.addcmul(y * ca, z, sa, value=-1), torch.addcmul(y * sa, z, ca)  # RX
        x, z = torch.addcmul(x * cb, z, sb), torch.addcmul(z * cb, x, sb, value=-1)  # RY
        if masks is None:
            for i, k in _pairs(ansatz, None, batch, controls.device):
                x, y, z = dephase((x, y, z), i, k)
            continue
        factor = _cz_factor(z, *(m[layer] for m in masks))
        x, y = x * factor, y * factor
    return (1 - z) / 2


def _cz_masks(index: torch.Tensor, n: int):
    """The data entangler's CZ(i, k) of every layer, (B, L, 2) index columns: per layer the
    (B, 1) indices i and k and the (B, n) masks of qubit i and qubit k (empty where i == k)."""
    pairs = index.detach().round().clamp(0, n - 1).long()
    i, k = pairs[..., 0:1], pairs[..., 1:2]
    gate = (i != k).expand(-1, -1, n)
    qubits = torch.arange(n, device=index.device)
    on_i, on_k = (qubits == i) & gate, (qubits == k) & gate
    return i.unbind(1), k.unbind(1), on_i.unbind(1), on_k.unbind(1)


def _cz_factor(z: torch.Tensor, i: torch.Tensor, k: torch.Tensor, on_i: torch.Tensor,
               on_k: torch.Tensor) -> torch.Tensor:
    """Each qubit's dephasing factor under CZ(i, k): z_k on qubit i, z_i on qubit k, else 1."""
    return torch.where(on_i, z.gather(1, k), torch.where(on_k, z.gather(1, i), 1.0))


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
        return torch.logit(self.prior(controls).clamp(EPS, 1 - EPS))

    def forward(self, controls: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.prior_logit(controls) + self.residual(self.features(controls)))


def template_meanfield(template: CircuitTemplate, outputs: Outputs, hidden: list[int],
                       activation: str = "gelu") -> MeanFieldQtDNN:
    """The mean-field qtDNN of a template's outputs (refused, with the reason, where the
    product-state rules do not apply)."""
    prior = template_prior(template, outputs)
    return MeanFieldQtDNN((prior, template.n_params, len(outputs.words)), hidden, activation)
