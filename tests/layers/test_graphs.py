"""The surrogate's no-grad value through traced graphs (qhil.layers.graphs): bit-identical to the
eager forward, following in-place parameter updates, eager with grad on, and safe to copy."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from qhil import HDQNNAnsatz
from qhil.layers.gradients import strategy
from qhil.layers.graphs import NoGradGraphs
from qhil.layers.hdqnn import QtDNN, TrigFeatures
from qhil.layers.meanfield import MeanFieldQtDNN


def _surrogates(ansatz: HDQNNAnsatz) -> dict[str, nn.Module]:
    torch.manual_seed(0)
    dim = ansatz.control_dim
    mean_field = MeanFieldQtDNN(ansatz, [32, 32])
    mean_field.use_kernel = False  # the torch ops, which a traced graph records (the compiled
    # kernel's value runs eagerly: test_the_compiled_mean_field_value_runs_eagerly)
    with torch.no_grad():  # the last layer starts at zero: give the residual a say
        mean_field.residual[-1].weight.normal_()
    return {"mean-field": mean_field,
            "trig": QtDNN(dim, ansatz.n_qubits, [32], "gelu", TrigFeatures(ansatz)),
            "paper": QtDNN(dim, ansatz.n_qubits, [32])}


def _controls(ansatz: HDQNNAnsatz, batch: int, seed: int = 0) -> torch.Tensor:
    return torch.tensor(ansatz.random_controls(batch, np.random.default_rng(seed)),
                        dtype=torch.float32)


@pytest.mark.parametrize("entangler", ["data", "ring", "chain"])
def test_value_is_bit_identical_to_the_eager_forward(entangler):
    """...and the shipped surrogates trace without a tracer warning (each says a graph may not
    generalise: a loop over a tensor, a tensor made inside)."""
    ansatz = HDQNNAnsatz(4, 2, entangler)
    for name, qtdnn in _surrogates(ansatz).items():
        method = strategy("qtdnn", qtdnn=qtdnn)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for batch in (256, 7, 256):
                x = _controls(ansatz, batch, seed=batch)
                with torch.no_grad():
                    assert torch.equal(method.value(x, None), method.predict(x)), name
        assert len(method.graphs.graphs) == 2 and not method.graphs.broken, name
        tracer = [str(w.message) for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
        assert tracer == [], (name, tracer)


def test_the_compiled_mean_field_value_is_the_traced_torch_path():
    """With the compiled kernel on (the default), the TD target's value is still a traced graph
    of the torch ops (a graph cannot hold the kernel), equal to the kernel's forward to float
    rounding."""
    ansatz = HDQNNAnsatz(4, 2)
    qtdnn = MeanFieldQtDNN(ansatz, [32])
    method, x = strategy("qtdnn", qtdnn=qtdnn), _controls(ansatz, 64)
    with torch.no_grad():
        qtdnn.residual[-1].weight.normal_()
        assert torch.allclose(method.value(x, None), method.predict(x), atol=1e-6)
    assert qtdnn.compiled and len(method.graphs.graphs) == 1


def test_graphs_follow_in_place_parameter_updates():
    ansatz = HDQNNAnsatz(4, 2)
    qtdnn = MeanFieldQtDNN(ansatz, [32])
    qtdnn.use_kernel = False  # the traced torch path
    method, x = strategy("qtdnn", qtdnn=qtdnn), _controls(ansatz, 64)
    optimizer = torch.optim.AdamW(qtdnn.parameters(), lr=0.1, fused=True)
    with torch.no_grad():
        before = method.value(x, None)
    nn.functional.binary_cross_entropy(qtdnn(x), torch.full((64, 4), 0.9)).backward()
    optimizer.step()
    with torch.no_grad():
        after = method.value(x, None)
        assert not torch.equal(before, after)
        assert torch.equal(after, method.predict(x))


def test_a_new_parameter_storage_traces_again():
    ansatz = HDQNNAnsatz(3, 2)
    qtdnn = QtDNN(ansatz.control_dim, 3, [16])
    graphs, x = NoGradGraphs(qtdnn), _controls(ansatz, 5)
    with torch.no_grad():
        graphs(x)
        qtdnn.net[0].weight = nn.Parameter(qtdnn.net[0].weight * 2)
        assert torch.equal(graphs(x), qtdnn(x))
    assert len(graphs.graphs) == 2


def test_with_grad_on_the_eager_module_runs_and_differentiates():
    ansatz = HDQNNAnsatz(4, 2)
    qtdnn = MeanFieldQtDNN(ansatz, [16])
    method = strategy("qtdnn", qtdnn=qtdnn)
    x = _controls(ansatz, 8).requires_grad_(True)
    method.value(x, None).sum().backward()
    assert x.grad is not None and not method.graphs.graphs


def test_copies_and_pickles_carry_no_graphs_and_give_the_same_values():
    ansatz = HDQNNAnsatz(4, 2)
    method, x = strategy("qtdnn", qtdnn=MeanFieldQtDNN(ansatz, [16])), _controls(ansatz, 16)
    with torch.no_grad():
        value = method.value(x, None)
        for twin in (copy.deepcopy(method), pickle.loads(pickle.dumps(method))):
            assert not twin.graphs.graphs
            assert twin.graphs.module is twin.qtdnn
            assert torch.equal(twin.value(x, None), value)


class _DictOut(nn.Module):
    def forward(self, x):
        return {"y": x * 2}


def test_a_module_the_tracer_refuses_runs_eagerly_and_says_so_once():
    graphs = NoGradGraphs(_DictOut())
    with torch.no_grad():
        with pytest.warns(RuntimeWarning, match="runs eagerly from now on.*tracing failed"):
            assert torch.equal(graphs(torch.ones(3))["y"], torch.full((3,), 2.0))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no second notice
            assert graphs.broken and torch.equal(graphs(torch.ones(2))["y"], torch.full((2,), 2.0))
