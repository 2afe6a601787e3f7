"""One gradient engine: the hDQNN T-block and qhil.QuantumLayer run the same strategies, and on
the same circuit they deliver the same Jacobian."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qhil import CircuitTemplate, QuantumLayer
from qhil.layers import gradients
from qhil.layers.hdqnn import AnsatzCircuit, exact_marginals
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.simulator import Simulator


@pytest.mark.parametrize("method", ["parameter-shift", "exact"])
def test_the_t_block_and_the_layer_agree_on_the_hdqnn_circuit(method):
    ansatz = HDQNNAnsatz(3, 2, entangler="ring")
    sim = Simulator(3, precision="complex128")
    cols = torch.arange(ansatz.control_dim)  # ring: every control is an angle
    controls = torch.rand(5, ansatz.control_dim, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(1)) * 6 - 3

    def sample(rows, purpose):
        return exact_marginals(sim, ansatz, torch.from_numpy(rows)).numpy()

    circuit = AnsatzCircuit(ansatz, cols, sample, sim)
    t_block = gradients.strategy(method)
    t_block.apply(controls.clone().requires_grad_(True), circuit)
    cz = np.array([ansatz.fixed_pairs()] * ansatz.n_layers)
    layer = QuantumLayer(CircuitTemplate.from_hdqnn(3, cz), "local", shots=None, gradient=method)
    x = controls.clone().requires_grad_(True)
    layer(x)
    assert type(layer.strategy) is type(t_block)  # one engine: the same strategy class
    expected = t_block.jacobian(controls, circuit)
    assert torch.allclose(layer.strategy.jacobian(x, layer.circuit), expected, atol=1e-5)
    layer.close()


@pytest.mark.parametrize("prior", ["mean-field", "trig", "raw"])
def test_the_surrogates_vectorised_jacobian_equals_one_backward_per_output(prior):
    from qhil.layers.hdqnn import ControlMap, QtDNN, TrigFeatures
    from qhil.layers.meanfield import MeanFieldQtDNN

    ansatz = HDQNNAnsatz(4, 3)  # data entangler: CZ index columns in the controls
    torch.manual_seed(0)
    qtdnn = (MeanFieldQtDNN(ansatz, [16], "gelu") if prior == "mean-field" else
             QtDNN(ansatz.control_dim, 4, [16], "gelu",
                   TrigFeatures(ansatz) if prior == "trig" else None))
    cols = ControlMap(ansatz).angle_columns()
    controls = ControlMap(ansatz)(torch.randn(6, ansatz.control_dim,
                                              generator=torch.Generator().manual_seed(2)))
    surrogate = gradients.strategy("qtdnn", qtdnn=qtdnn)
    delivered = surrogate.jacobian(controls, AnsatzCircuit(ansatz, cols))
    looped = gradients.jacobian(surrogate.predict, controls, cols)
    assert delivered.shape == (6, 4, len(cols)) and delivered.abs().sum() > 0
    assert torch.allclose(delivered, looped, atol=1e-7)
