"""A physics-informed qtDNN: a mean-field simulation of the hDQNN circuit plus a learned residual.

The mean-field model keeps one Bloch vector per qubit (the product-state approximation):
    RX(a)      rotates (x, y, z) about x:  y, z <- y cos a - z sin a, y sin a + z cos a
    RY(b)      rotates about y:            x, z <- x cos b + z sin b, -x sin b + z cos b
    CZ(i, k)   dephases each qubit by the other's <Z>: (x_i, y_i) *= z_k, (x_k, y_k) *= z_i
    P(1) = (1 - z) / 2
The CZ rule is exact for the reduced states when the two qubits are uncorrelated before the gate;
what it misses (correlations, the device's noise) the residual MLP learns from the (q_i, q_o)
pairs: output = sigmoid(logit(P_meanfield) + MLP(trig features)), the MLP's last layer starting at
zero. It costs O(L n) per sample at any qubit count, so unlike an exact simulation it scales with
the device; it knows the circuit's gate list, which the paper's black-box qtDNN does not.
"""

from __future__ import annotations

import torch
from torch import nn

from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.layers.hdqnn import ACTIVATIONS, TrigFeatures, index_mask

EPS = 1e-4


def meanfield_marginals(ansatz: HDQNNAnsatz, controls: torch.Tensor) -> torch.Tensor:
    """P(qubit j reads 1) under the mean-field model, (B, n), differentiable in the angles."""
    batch, n, layers = controls.shape[0], ansatz.n_qubits, ansatz.n_layers
    blocks = controls.reshape(batch, layers, ansatz.per_layer)
    x = torch.zeros(batch, n, dtype=controls.dtype, device=controls.device)
    y, z = x.clone(), torch.ones_like(x)
    for layer in range(layers):
        a, b = blocks[:, layer, 0:2 * n:2], blocks[:, layer, 1:2 * n:2]
        y, z = y * torch.cos(a) - z * torch.sin(a), y * torch.sin(a) + z * torch.cos(a)
        x, z = x * torch.cos(b) + z * torch.sin(b), -x * torch.sin(b) + z * torch.cos(b)
        if ansatz.entangler == "data":
            pairs = blocks[:, layer, 2 * n:].detach().round().clamp(0, n - 1).long()
            x, y = _dephase(x, y, z, pairs[:, 0:1], pairs[:, 1:2])
        else:
            for i, k in ansatz.fixed_pairs():
                pair = torch.tensor([[i, k]], device=controls.device).expand(batch, 2)
                x, y = _dephase(x, y, z, pair[:, 0:1], pair[:, 1:2])
    return (1 - z) / 2


def _dephase(x, y, z, i, k):
    """CZ(i, k) per sample (i == k: no gate) on the Bloch components."""
    same = i == k
    zi, zk = z.gather(1, i), z.gather(1, k)
    factor = torch.ones_like(z).scatter(1, i, torch.where(same, torch.ones_like(zk), zk))
    factor = factor.scatter(1, k, torch.where(same, torch.ones_like(zi), zi))
    return x * factor, y * factor


class MeanFieldQtDNN(nn.Module):
    """qtDNN = sigmoid(logit(mean-field marginals) + residual MLP); fitted like any QtDNN."""

    def __init__(self, ansatz: HDQNNAnsatz, hidden: list[int], activation: str = "gelu"):
        super().__init__()
        self.ansatz = ansatz
        self.features = TrigFeatures(ansatz)
        widths = [self.features.dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
        last = nn.Linear(widths[-1], ansatz.n_qubits)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.residual = nn.Sequential(*layers, last)
        self.register_buffer("index_cols", index_mask(ansatz), persistent=False)

    def forward(self, controls: torch.Tensor) -> torch.Tensor:
        prior = meanfield_marginals(self.ansatz, controls).clamp(EPS, 1 - EPS)
        return torch.sigmoid(torch.logit(prior) + self.residual(self.features(controls)))
