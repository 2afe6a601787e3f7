"""Qiskit Machine Learning's SamplerQNN + TorchConnector trains through qhil.qiskit.Sampler as
it does on Qiskit's reference StatevectorSampler (same data, weights, optimiser and shots)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("qiskit_machine_learning", reason="needs qhil[qiskit-ml]")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import ParameterVector  # noqa: E402
from qiskit.circuit.library import real_amplitudes  # noqa: E402
from qiskit.primitives import StatevectorSampler  # noqa: E402
from qiskit_machine_learning.connectors import TorchConnector  # noqa: E402
from qiskit_machine_learning.neural_networks import SamplerQNN  # noqa: E402

from qhil.qiskit import Sampler  # noqa: E402


def dataset(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two angles per point; the label is whether the first exceeds pi/2."""
    x = np.random.default_rng(seed).uniform(0, np.pi, (n, 2))
    return torch.tensor(x, dtype=torch.float32), torch.tensor((x[:, 0] > np.pi / 2).astype(int))


def classifier(sampler) -> TorchConnector:
    x, weights = ParameterVector("x", 2), real_amplitudes(2, reps=1)
    circuit = QuantumCircuit(2)
    circuit.ry(x[0], 0)
    circuit.ry(x[1], 1)
    circuit.compose(weights, inplace=True)
    qnn = SamplerQNN(circuit=circuit, input_params=list(x), weight_params=list(weights.parameters),
                     interpret=lambda bits: bits & 1, output_shape=2, sampler=sampler)
    return TorchConnector(qnn, initial_weights=np.array([0.9, 0.1, 0.1, 0.1]))


def accuracy_after_training(sampler, epochs: int = 8) -> tuple[float, float]:
    (x, y), (x_test, y_test) = dataset(0, 40), dataset(1, 100)
    net = classifier(sampler)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.25)
    losses = []
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(net(x) + 1e-9), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    with torch.no_grad():
        predicted = net(x_test).argmax(dim=1)
    return float((predicted == y_test).float().mean()), losses[-1] / losses[0]


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning:qiskit_machine_learning")
def test_sampler_qnn_trains_on_qhil_as_on_the_reference_sampler():
    ours, ours_drop = accuracy_after_training(Sampler("local", seed=1, default_shots=1024))
    reference, _ = accuracy_after_training(StatevectorSampler(seed=1, default_shots=1024))
    assert ours_drop < 0.7  # it learned: the loss fell by more than 30%
    assert ours >= reference - 0.02, (ours, reference)
