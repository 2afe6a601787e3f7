"""The supervised hDQNN of the paper's Fig. 1 on scikit-learn's bundled digits (nothing downloaded).

    PreDNN (64 -> hidden -> P angles, pi * tanh)  ->  QuantumLayer (n qubits)  ->  PostDNN (n -> 10)

The circuit is a template of `layers` blocks of RY, RZ on every qubit and a CX chain; its
marginals come from the provider through the layer's Dispatcher, its gradient from the qtDNN
surrogate (refitted on every batch's (q_i, q_o) pairs), parameter-shift or the exact simulator.

    result = train_digits(DigitsConfig(gradient="qtdnn"))
    result.test_accuracy, result.mean_grad_cosine
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from qhil.layers.quantum_layer import QuantumLayer, template_qtdnn
from qhil.quantum.template import Angle, CircuitTemplate, Gate


@dataclass(frozen=True)
class DigitsConfig:
    """One training run of the digits classifier."""

    gradient: str = "qtdnn"
    """qtdnn, parameter-shift or exact."""
    provider: str = "local"
    """Provider profile sampling the quantum layer."""
    shots: int | None = 1000
    """Shots per circuit (None: exact marginals)."""
    n_qubits: int = 8
    """Qubits of the quantum layer (the network's bottleneck width)."""
    layers: int = 1
    """RY, RZ + CX-chain blocks of the circuit (then a last RY layer)."""
    hidden: int = 64
    """Width of the PreDNN and PostDNN hidden layers."""
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    refit_steps: int = 50
    """Surrogate refit tiny batches (Adam steps) per batch (qtdnn: N_qt)."""
    tiny_batch: int | None = 16
    """Rows per refit tiny batch (None: the whole batch)."""
    surrogate_hidden: tuple[int, ...] | None = None
    """Surrogate hidden widths (None: one layer of 2**(n+1))."""
    train_batches: int | None = None
    """Stop each epoch after this many batches (smoke tests); None: the whole training set."""
    track_fidelity: bool = True
    """Record the gradient cosine against the exact gradient in every backward pass."""
    seed: int = 0


@dataclass
class DigitsResult:
    """Test accuracy, per-epoch training loss and gradient fidelity of one run."""

    config: DigitsConfig
    test_accuracy: float
    losses: list[float] = field(default_factory=list)
    grad_cosines: list[float] = field(default_factory=list)
    grad_rel_errors: list[float] = field(default_factory=list)
    circuits: int = 0

    @property
    def mean_grad_cosine(self) -> float:
        return float(np.mean(self.grad_cosines)) if self.grad_cosines else float("nan")

    @property
    def mean_grad_rel_error(self) -> float:
        return float(np.mean(self.grad_rel_errors)) if self.grad_rel_errors else float("nan")


def digits_template(n_qubits: int, layers: int) -> CircuitTemplate:
    """`layers` blocks of RY(p), RZ(p) on every qubit and CX(j, j+1) along a chain, then a
    last RY(p) on every qubit (without it the last block's RZs could not change a marginal)."""
    gates, column = [], 0
    for _ in range(layers):
        for q in range(n_qubits):
            gates += [Gate("ry", (q,), (Angle(column),)), Gate("rz", (q,), (Angle(column + 1),))]
            column += 2
        gates += [Gate("cx", (q, q + 1)) for q in range(n_qubits - 1)]
    gates += [Gate("ry", (q,), (Angle(column + q),)) for q in range(n_qubits)]
    return CircuitTemplate(n_qubits, gates, n_params=column + n_qubits, name="digits")


class DigitsHDQNN(nn.Module):
    """PreDNN -> QuantumLayer -> PostDNN."""

    def __init__(self, quantum: QuantumLayer, hidden: int, n_classes: int = 10):
        super().__init__()
        n_params, n_qubits = quantum.template.n_params, quantum.template.n_qubits
        self.pre = nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, n_params))
        self.quantum = quantum
        self.post = nn.Sequential(nn.Linear(n_qubits, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = math.pi * torch.tanh(self.pre(x))
        return self.post(self.quantum(angles))


def digits_data(seed: int, test_fraction: float = 0.3):
    """Standardised (x_train, y_train, x_test, y_test) tensors from sklearn's load_digits."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data - data.data.mean(0)) / (data.data.std(0) + 1e-6)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(len(x) * (1 - test_fraction))
    as_x = lambda rows: torch.tensor(x[rows], dtype=torch.float32)  # noqa: E731
    as_y = lambda rows: torch.tensor(data.target[rows], dtype=torch.long)  # noqa: E731
    return as_x(order[:cut]), as_y(order[:cut]), as_x(order[cut:]), as_y(order[cut:])


def train_digits(config: DigitsConfig) -> DigitsResult:
    """Train the classifier; the test accuracy is measured on the provider's marginals too."""
    torch.manual_seed(config.seed)
    x_train, y_train, x_test, y_test = digits_data(config.seed)
    template = digits_template(config.n_qubits, config.layers)
    surrogate = template_qtdnn(template.n_params, template.n_qubits, template.n_qubits,
                               config.surrogate_hidden)
    quantum = QuantumLayer(template, config.provider, config.shots, config.gradient,
                           surrogate=surrogate, refit_steps=config.refit_steps,
                           tiny_batch=config.tiny_batch, track_fidelity=config.track_fidelity,
                           seed=config.seed)
    model = DigitsHDQNN(quantum, config.hidden)
    trainable = [p for name, p in model.named_parameters() if not name.startswith("quantum.")]
    optimizer = torch.optim.Adam(trainable, lr=config.lr)
    result = DigitsResult(config, test_accuracy=float("nan"))
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.epochs):
        result.losses.append(_epoch(model, optimizer, x_train, y_train, config, generator, result))
    result.test_accuracy = accuracy(model, x_test, y_test)
    result.circuits = quantum.circuits
    quantum.close()
    return result


def _epoch(model, optimizer, x, y, config: DigitsConfig, generator, result: DigitsResult) -> float:
    model.train()
    order = torch.randperm(len(x), generator=generator).split(config.batch_size)
    losses = []
    for rows in order[:config.train_batches]:
        loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        fidelity = model.quantum.last_fidelity
        if fidelity is not None:
            result.grad_cosines.append(fidelity.grad_cosine)
            result.grad_rel_errors.append(fidelity.grad_rel_error)
    return float(np.mean(losses))


def accuracy(model: DigitsHDQNN, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction classified right, with the quantum layer's marginals sampled on the provider."""
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())
