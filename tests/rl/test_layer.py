"""Quantum layer: straight-through values and gradients, control map, qtDNN refit, fidelity."""

from __future__ import annotations

import math

import pytest
import torch

from qhil.layers.fidelity import cosine
from qhil.layers.gradients import jacobian
from qhil.layers.hdqnn import (
    ControlMap,
    PQCBlock,
    QtDNN,
    QtDNNTrainer,
    TrigFeatures,
    exact_jacobian,
    exact_marginals,
)
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.simulator import Simulator


def test_forward_is_hardware_backward_is_qtdnn():
    ansatz = HDQNNAnsatz(3, 2)
    layer = PQCBlock(ansatz, QtDNN(ansatz.control_dim, 3, [8]))
    x = torch.randn(5, ansatz.control_dim, requires_grad=True)
    y_hw = torch.rand(5, 3)
    weights = torch.randn(5, 3)
    (layer(x, y_hw) * weights).sum().backward()
    assert torch.equal(layer(x, y_hw).detach(), y_hw)
    x2 = x.detach().clone().requires_grad_(True)
    (layer.qtdnn(x2) * weights).sum().backward()
    assert torch.allclose(x.grad, x2.grad)
    assert x.grad.abs().sum() > 0


def test_without_gradient_the_hardware_value_skips_the_surrogate():
    """The explorer's forward (no_grad, y_hw given) is y_hw exactly and never runs the qtDNN."""
    ansatz = HDQNNAnsatz(3, 2)
    qtdnn = QtDNN(ansatz.control_dim, 3, [8])
    calls = []
    qtdnn.register_forward_hook(lambda *args: calls.append(1))
    layer, x = PQCBlock(ansatz, qtdnn), torch.randn(4, ansatz.control_dim)
    y_hw = torch.rand(4, 3, dtype=torch.float64)
    with torch.no_grad():
        y = layer(x, y_hw)
    assert y.dtype == x.dtype and torch.equal(y, y_hw.float()) and not calls
    layer(x, y_hw)
    assert calls  # with gradients on, the backward needs the surrogate


def test_control_map_bounds_angles_and_detaches_cz_indices():
    ansatz = HDQNNAnsatz(4, 3)
    cmap = ControlMap(ansatz)
    raw = (100 * torch.randn(16, ansatz.control_dim)).requires_grad_(True)
    controls = cmap(raw)
    cols = cmap.angle_columns()
    index_cols = [c for c in range(ansatz.control_dim) if c not in set(cols.tolist())]
    assert controls[:, cols].abs().max() <= math.pi
    idx = controls[:, index_cols]
    assert torch.equal(idx, idx.round()) and idx.min() >= 0 and idx.max() <= 3
    controls[:, index_cols].sum().backward()
    assert raw.grad is None or raw.grad.abs().sum() == 0
    ansatz.split(controls)  # the ansatz accepts them as they are


def test_exact_jacobian_matches_finite_differences():
    ansatz = HDQNNAnsatz(3, 2)
    sim = Simulator(3, precision="complex128")
    cmap = ControlMap(ansatz)
    controls = cmap(torch.randn(2, ansatz.control_dim, dtype=torch.float64))
    cols = cmap.angle_columns()
    jac = exact_jacobian(sim, ansatz, controls, cols)
    eps = 1e-6
    bumped = controls.clone()
    bumped[:, cols[3]] += eps
    fd = (exact_marginals(sim, ansatz, bumped) - exact_marginals(sim, ansatz, controls)) / eps
    assert torch.allclose(jac[:, :, 3], fd, atol=1e-4)


def test_refit_lowers_loss_and_cosine_is_finite():
    torch.manual_seed(0)
    ansatz = HDQNNAnsatz(2, 1)
    sim = Simulator(2, precision="complex128")
    cmap = ControlMap(ansatz)
    controls = cmap(0.3 * torch.randn(256, ansatz.control_dim)).float()
    targets = exact_marginals(sim, ansatz, controls).detach().float()
    qtdnn = QtDNN(ansatz.control_dim, 2, [32])
    trainer = QtDNNTrainer(qtdnn, 3e-3, 16, 32)
    generator = torch.Generator().manual_seed(0)
    first = trainer.refit(controls, targets, generator)
    for _ in range(30):
        last = trainer.refit(controls, targets, generator)
    assert last < first
    cols = cmap.angle_columns()
    exact = exact_jacobian(sim, ansatz, controls[:32], cols).flatten(1)
    cos = cosine(jacobian(qtdnn, controls[:32], cols).flatten(1).to(exact), exact)
    assert math.isfinite(cos) and -1 <= cos <= 1
    assert cos > 0.5  # a fitted surrogate points the same way as the device


def test_trig_features_encode_angles_and_one_hot_indices():
    ansatz = HDQNNAnsatz(3, 2)
    cmap, features = ControlMap(ansatz), TrigFeatures(ansatz)
    controls = cmap(torch.randn(4, ansatz.control_dim))
    cols = cmap.angle_columns()
    out = features(controls)
    assert out.shape == (4, features.dim) and features.dim == 2 * 12 + 3 * 4
    assert torch.allclose(out[:, :12], torch.cos(controls[:, cols]))
    assert torch.allclose(out[:, 12:24], torch.sin(controls[:, cols]))
    hot = out[:, 24:].reshape(4, 4, 3)
    assert torch.equal(hot.sum(-1), torch.ones(4, 4))
    index_cols = [c for c in range(ansatz.control_dim) if c not in set(cols.tolist())]
    assert torch.equal(hot.argmax(-1).float(), controls[:, index_cols])


def test_trig_qtdnn_is_periodic_in_the_angles_and_differentiable():
    ansatz = HDQNNAnsatz(3, 2)
    cmap = ControlMap(ansatz)
    qtdnn = QtDNN(ansatz.control_dim, 3, [16], "silu", TrigFeatures(ansatz))
    x = cmap(torch.randn(5, ansatz.control_dim)).requires_grad_(True)
    shifted = x.detach().clone()
    shifted[:, cmap.angle_columns()] += 2 * math.pi
    assert torch.allclose(qtdnn(x), qtdnn(shifted), atol=1e-5)
    qtdnn(x).sum().backward()
    assert x.grad[:, cmap.angle_columns()].abs().sum() > 0


def test_unknown_activation_is_an_error():
    ansatz = HDQNNAnsatz(2, 1)
    with pytest.raises(ValueError, match="activation"):
        QtDNN(ansatz.control_dim, 2, [8], "relu6")
