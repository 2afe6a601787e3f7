"""A qml.qnn.TorchLayer classifier trains through the qhil device on `local`, within a budget."""

from __future__ import annotations

import pytest

qml = pytest.importorskip("pennylane")
torch = pytest.importorskip("torch")

from qhil.pennylane import QhilDevice  # noqa: E402

STEPS = 8


def test_torch_layer_classifier_trains_within_its_budget(tmp_path):
    torch.manual_seed(0)
    x = torch.rand(24, 2) * 2 - 1
    y = (x[:, 0] > 0).double() * 2 - 1  # the label is the sign of the first feature
    dev = QhilDevice(wires=2, shots=400, seed=1, budget_shots=2_000_000,
                     ledger=str(tmp_path / "run.sqlite"))

    @qml.qnode(dev, diff_method="parameter-shift")
    def classifier(inputs, weights):
        qml.AngleEmbedding(inputs, wires=[0, 1], rotation="Y")
        qml.RY(weights[0], 0)
        qml.CNOT([0, 1])
        qml.RX(weights[1], 1)
        return qml.expval(qml.Z(0))

    start = lambda tensor: torch.nn.init.constant_(tensor, 0.3)  # noqa: E731
    layer = qml.qnn.TorchLayer(classifier, {"weights": 2}, init_method=start)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.4)
    accuracy = lambda: float(((layer(x) > 0).double() * 2 - 1 == y).double().mean())  # noqa: E731
    before = accuracy()
    with qml.Tracker(dev) as tracker:
        for _ in range(STEPS):
            optimizer.zero_grad()
            loss = ((layer(x) - y) ** 2).mean()
            loss.backward()
            optimizer.step()
    assert accuracy() >= 0.9 > before
    assert tracker.history["circuits"] == [len(x), 2 * len(x)] * STEPS  # forward, gradient
    totals = dev.dispatcher.ledger.totals()
    assert totals.jobs >= 2 * STEPS and totals.circuits >= 3 * len(x) * STEPS
    assert totals.shots <= dev.dispatcher.budget.limit.shots
