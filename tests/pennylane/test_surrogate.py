"""diff_method="qtdnn": a QNode on the qhil device differentiated by qhil's surrogate."""

from __future__ import annotations

import math

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")
torch = pytest.importorskip("torch")

from qhil.errors import UserError  # noqa: E402
from qhil.layers.fidelity import Fidelity  # noqa: E402
from qhil.layers.gradients import Surrogate  # noqa: E402
from qhil.layers.hdqnn import PairRefit  # noqa: E402
from qhil.pennylane import QhilDevice, QtDNNGradient  # noqa: E402

BATCH = 32


def hybrid(dev, seed: int = 0):
    """Linear(2, 2) -> tanh -> TorchLayer(2 qubits, one weight) -> Linear(2, 1)."""

    @qml.qnode(dev, diff_method="qtdnn")
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=[0, 1], rotation="Y")
        qml.CNOT([0, 1])
        qml.RY(weights[0], 1)
        return [qml.expval(qml.Z(0)), qml.expval(qml.Z(1))]

    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(),
                               qml.qnn.TorchLayer(circuit, {"weights": (1,)}),
                               torch.nn.Linear(2, 1))


def angles_only(dev):
    """Linear(2, 2) -> pi tanh -> the circuit's angles -> <Z0>: the linear layer learns only
    through the QNode's derivative, the surrogate's."""

    @qml.qnode(dev, diff_method="qtdnn")
    def circuit(inputs):
        qml.AngleEmbedding(inputs, wires=[0, 1], rotation="Y")
        qml.CNOT([0, 1])
        return qml.expval(qml.Z(0))

    class Angles(torch.nn.Module):
        def forward(self, z):
            return math.pi * torch.tanh(z)

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 2), Angles(), qml.qnn.TorchLayer(circuit, {}))


def data():
    x = torch.rand(BATCH, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    return x, (x[:, 0] > 0).float() * 2 - 1


def device(tmp_path, **kwargs):
    settings = QtDNNGradient(refit_steps=50, refit_lr=0.01, **kwargs)
    return QhilDevice(wires=2, shots=500, seed=0, ledger=str(tmp_path / "run.sqlite"),
                      qtdnn=settings)


def train(model, steps: int) -> list[float]:
    x, y = data()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(steps):
        optimiser.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses


def test_a_qnode_trained_through_the_surrogate_reduces_its_loss(tmp_path):
    dev = device(tmp_path)
    losses = train(angles_only(dev), steps=20)
    assert np.mean(losses[-5:]) < 0.4 * np.mean(losses[:3])  # about 1.4 -> 0.2
    assert dev.qtdnn.last_refit_loss is not None
    assert dev.dispatcher.ledger.totals().jobs == 20


def test_each_step_is_one_job_in_the_ledger_and_the_backward_sends_no_circuit(tmp_path):
    dev = device(tmp_path)
    model = hybrid(dev)
    x, _ = data()
    with qml.Tracker(dev) as tracker:
        out = model(x)
        after_forward = dev.dispatcher.ledger.totals()
        out.sum().backward()
    totals = dev.dispatcher.ledger.totals()
    assert (after_forward.jobs, after_forward.circuits) == (1, BATCH)  # broadcast: a row a circuit
    assert totals == after_forward
    assert tracker.totals["jobs"] == 1 and tracker.totals["circuits"] == BATCH
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_the_engine_is_the_quantum_layers_and_its_fidelity_is_measured(tmp_path):
    dev = device(tmp_path, track_fidelity=True)
    train(angles_only(dev), steps=10)
    (fit,) = dev.qtdnn.fits.values()  # one structure: one surrogate
    assert isinstance(fit.strategy, Surrogate) and isinstance(fit.refit, PairRefit)
    fidelity = dev.qtdnn.last_fidelity
    assert isinstance(fidelity, Fidelity) and fidelity.jacobian_cosine is not None
    assert fidelity.jacobian_cosine > 0.5  # learnt, not random (random: about 0)


def test_the_surrogate_jacobian_has_pennylanes_layout(tmp_path):
    dev = device(tmp_path)

    @qml.qnode(dev, diff_method="qtdnn")
    def two(w):
        qml.RX(w[0], 0)
        qml.RY(w[1], 1)
        qml.CNOT([0, 1])
        return qml.expval(qml.Z(0)), qml.probs(wires=[1])

    w = torch.tensor([0.3, 0.9], requires_grad=True)
    jac = torch.autograd.functional.jacobian(lambda v: torch.hstack(two(v)), w)
    assert jac.shape == (3, 2)
    (fit,) = dev.qtdnn.fits.values()
    surrogate = fit.strategy.jacobian(torch.tensor([[0.3, 0.9]], dtype=torch.float64), fit)[0]
    scale = torch.tensor([[2.0], [1.0], [1.0]], dtype=torch.float64)  # <Z> in [-1, 1]; probs
    assert torch.allclose(jac.double(), surrogate * scale, atol=1e-6)


def test_samples_have_no_surrogate_derivative_and_are_refused_before_sending(tmp_path):
    dev = device(tmp_path)

    @qml.qnode(dev, diff_method="qtdnn")
    def sampled(w):
        qml.RX(w, 0)
        return qml.sample(wires=0)

    with pytest.raises(UserError, match="expval, var and probs"):
        sampled(torch.tensor(0.3, requires_grad=True))
    assert dev.dispatcher.ledger.totals().jobs == 0  # refused before anything was sent
    assert len(sampled(torch.tensor(0.3))) == 500  # not differentiated: it runs


def test_best_keeps_parameter_shift():
    dev = QhilDevice(wires=1, shots=100)
    config = qml.devices.ExecutionConfig(gradient_method="best")
    assert not dev.supports_derivatives(config)
    assert dev.supports_derivatives(qml.devices.ExecutionConfig(gradient_method="qtdnn"))
