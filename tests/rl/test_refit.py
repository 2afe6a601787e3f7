"""The hand-written qtDNN refit step (qhil.layers.refit) against autograd."""

import copy

import pytest
import torch
from torch import nn

from qhil import HDQNNAnsatz
from qhil.layers.hdqnn import ControlMap, QtDNN, QtDNNTrainer, TrigFeatures
from qhil.layers.meanfield import MeanFieldQtDNN
from qhil.layers.refit import plain_mlp


def pairs(ansatz: HDQNNAnsatz, rows: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    controls = ControlMap(ansatz)(torch.randn(rows, ansatz.control_dim, generator=g))
    return controls, torch.rand(rows, ansatz.n_qubits, generator=g)


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "silu", "tanh"])
@pytest.mark.parametrize("trig", [False, True])
def test_fast_refit_follows_autograd(activation, trig):
    """Three refits of 8 AdamW steps: same losses, same parameters as the autograd path."""
    ansatz = HDQNNAnsatz(3, 2)
    torch.manual_seed(1)
    features = TrigFeatures(ansatz) if trig else None
    fast_net = QtDNN(ansatz.control_dim, 3, [24, 16], activation, features)
    slow_net, start = copy.deepcopy(fast_net), copy.deepcopy(fast_net)
    fast = QtDNNTrainer(fast_net, 1e-2, 8, 16, weight_decay=0.01)
    slow = QtDNNTrainer(slow_net, 1e-2, 8, 16, weight_decay=0.01)
    slow.fast_step = None
    assert fast.fast_step is not None
    q_in, q_out = pairs(ansatz, 64)
    g_fast, g_slow = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for _ in range(3):
        assert fast.refit(q_in, q_out, g_fast) == pytest.approx(slow.refit(q_in, q_out, g_slow), rel=1e-5)
    for a, b in zip(fast_net.parameters(), slow_net.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert all((a - b).abs().max() > 0 for a, b in zip(fast_net.parameters(), start.parameters(),
                                                       strict=True))  # every layer was fitted


def test_fast_refit_state_is_the_optimizers_own():
    """The step's gradients go through the trainer's AdamW: its state is what checkpoints save."""
    ansatz = HDQNNAnsatz(2, 1)
    trainer = QtDNNTrainer(QtDNN(ansatz.control_dim, 2, [8]), 1e-3, 4, 8)
    trainer.refit(*pairs(ansatz, 32), torch.Generator().manual_seed(0))
    steps = {int(s["step"]) for s in trainer.optimizer.state_dict()["state"].values()}
    assert steps == {4}


@pytest.mark.parametrize("entangler", ["data", "ring"])
def test_fast_meanfield_refit_follows_autograd(entangler):
    """The mean-field qtDNN's step (prior logit computed once per refit, as an offset): same
    losses and parameters as autograd through the whole module, every AdamW step."""
    ansatz = HDQNNAnsatz(3, 2, entangler)
    torch.manual_seed(2)
    fast_net = MeanFieldQtDNN(ansatz, [24, 16], "gelu")
    slow_net = copy.deepcopy(fast_net)
    fast = QtDNNTrainer(fast_net, 1e-2, 8, 16, weight_decay=0.05)
    slow = QtDNNTrainer(slow_net, 1e-2, 8, 16, weight_decay=0.05)
    slow.fast_step = None
    assert fast.fast_step is not None
    q_in, q_out = pairs(ansatz, 64)
    g_fast, g_slow = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    losses = [(fast.refit(q_in, q_out, g_fast), slow.refit(q_in, q_out, g_slow)) for _ in range(3)]
    assert losses[-1][0] < losses[0][0]  # it fits
    for a, b in losses:
        assert a == pytest.approx(b, rel=1e-5)
    for a, b in zip(fast_net.parameters(), slow_net.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_other_networks_keep_autograd():
    assert plain_mlp(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Sigmoid())) is None
    assert plain_mlp(nn.Sequential(nn.Linear(4, 2))) is None
    assert plain_mlp(nn.Sequential(nn.Linear(4, 3, bias=False), nn.Tanh(), nn.Linear(3, 2),
                                   nn.Sigmoid())) is None
    assert plain_mlp(nn.Sequential(nn.Linear(4, 3), nn.GELU(), nn.Linear(3, 2)),
                     sigmoid=False) is not None
    assert plain_mlp(nn.Sequential(nn.Linear(4, 3), nn.GELU()), sigmoid=False) is None
    trainer = QtDNNTrainer(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2),
                                         nn.Sigmoid()), 1e-3, 2, 8)
    assert trainer.fast_step is None
    q_in, q_out = torch.rand(16, 4), torch.rand(16, 2)
    assert trainer.refit(q_in, q_out, torch.Generator().manual_seed(0)) > 0
