"""qhil.QuantumLayer: inputs and trainable weights, observables, copies, a ledger in a file."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch

from qhil import CircuitTemplate, QuantumLayer, get_provider
from qhil.errors import QhilError, RequestValidationError
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger

CLASSIFIER = """OPENQASM 3.0;
input float[64] a; input float[64] b;
input float[64] w0; input float[64] w1; input float[64] w2; input float[64] w3;
qubit[2] q;
ry(a) q[0]; ry(b) q[1];
ry(w0) q[0]; rz(w1) q[1]; cx q[0], q[1];
crx(w2) q[1], q[0]; ry(2 * w3) q[1];
"""
WEIGHTS = ["w0", "w1", "w2", "w3"]


def classifier(**kwargs) -> QuantumLayer:
    template = CircuitTemplate.from_qasm(CLASSIFIER)
    return QuantumLayer(template, "local", weights=WEIGHTS, **kwargs)


def blobs(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes of angle pairs: class 1 around (2.4, 0.6), class 0 around (0.6, 2.4)."""
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 2, (n,), generator=g).double()
    centre = torch.stack([0.6 + 1.8 * label, 2.4 - 1.8 * label], dim=1)
    return centre + 0.3 * torch.randn(n, 2, generator=g, dtype=torch.float64), label


def test_weights_are_seeded_torch_parameters_and_inputs_the_rest():
    layer, again = classifier(seed=3), classifier(seed=3)
    assert [n for n, _ in layer.named_parameters() if not n.startswith("surrogate.")] == ["weights"]
    assert torch.equal(layer.weights, again.weights)
    assert not torch.equal(layer.weights, classifier(seed=4).weights)
    assert layer.input_columns == [0, 1]
    x = torch.rand(3, 2, dtype=torch.float64)
    rows = layer.rows(x)
    assert torch.equal(rows[:, :2], x)
    assert torch.allclose(rows[:, 2:], layer.weights.detach().double().expand(3, -1))
    with pytest.raises(RequestValidationError, match=r"inputs must be \(batch, 2\)"):
        layer(torch.rand(3, 6))
    with pytest.raises(RequestValidationError, match="weights must be distinct parameters"):
        QuantumLayer(layer.template, "local", weights=["w9"])


@pytest.fixture
def one_thread():
    """Tiny matmuls (the refit of an 8-unit surrogate) on one thread: on a loaded 2-core
    machine two OpenMP threads make each one milliseconds instead of microseconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("gradient", ["exact", "qtdnn"])
def test_the_weights_train_a_small_classifier(gradient, one_thread):
    layer = classifier(shots=None, gradient=gradient, seed=1, refit_steps=40, refit_lr=1e-2)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    x, label = blobs()
    losses = []
    for step in range(40):
        noisy = x + 0.2 * torch.randn(x.shape, generator=torch.Generator().manual_seed(step),
                                      dtype=torch.float64)
        p1 = layer(noisy)[:, 0].clamp(1e-6, 1 - 1e-6)
        loss = torch.nn.functional.binary_cross_entropy(p1, label)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert layer.weights.grad is not None
    assert all(p.grad is None for p in layer.surrogate.parameters())  # refit's business only
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def _grads(layer: QuantumLayer, x: torch.Tensor, upstream: torch.Tensor):
    x = x.clone().requires_grad_(True)
    layer.weights.grad = None
    (layer(x) * upstream).sum().backward()
    return x.grad, layer.weights.grad


@pytest.mark.parametrize("observables", [None, ["Z1", "Z0"]])
def test_parameter_shift_and_exact_agree_on_inputs_and_weights(observables):
    x, _ = blobs(6, seed=2)
    upstream = torch.randn(6, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = _grads(classifier(shots=None, gradient="exact", observables=observables), x, upstream)
    shift_layer = classifier(shots=None, gradient="parameter-shift", observables=observables,
                             track_fidelity=True)
    shifted = _grads(shift_layer, x, upstream)
    for a, b in zip(shifted, exact, strict=True):
        assert torch.allclose(a.double(), b.double(), atol=2e-6)  # local samples in complex64
    assert shift_layer.last_fidelity.grad_cosine > 0.99999


def test_spsa_averages_to_the_exact_gradient():
    x, _ = blobs(4, seed=5)
    upstream = torch.ones(4, 2, dtype=torch.float64)
    exact = torch.cat([g.flatten() for g in _grads(classifier(shots=None, gradient="exact"),
                                                   x, upstream)])
    layer = classifier(shots=None, gradient="spsa", spsa_step=0.05)
    draws = [torch.cat([g.flatten() for g in _grads(layer, x, upstream)]) for _ in range(300)]
    cos = torch.nn.functional.cosine_similarity(torch.stack(draws).mean(0), exact, dim=0)
    assert cos > 0.95 and layer.calls == 600  # the forward and one SPSA request per call


def test_observables_match_qiskit_statevector_and_the_sampled_value():
    from qiskit.quantum_info import SparsePauliOp, Statevector

    layer = classifier(shots=20000, observables=["Z0", "Z1", "Z0Z1"])
    x, _ = blobs(2, seed=7)
    row = layer.rows(x).detach().numpy()
    circuit = layer.template.to_qiskit(measure=False)
    for b in range(2):
        state = Statevector(circuit.assign_parameters(row[b]))
        expected = [state.expectation_value(SparsePauliOp.from_sparse_list([("Z" * len(q), q, 1)],
                                                                            2)).real
                    for q in ([0], [1], [0, 1])]
        assert np.allclose(layer.exact(x).detach().numpy()[b], expected, atol=1e-6)
        sampled = layer(x).detach().numpy()[b]
        assert np.allclose(sampled, expected, atol=4 * 2 / math.sqrt(20000))


def test_only_the_measured_qubits_and_bad_words_are_one_line():
    layer = classifier(shots=None, qubits=[1])
    x, _ = blobs(3)
    assert layer(x).shape == (3, 1)
    assert torch.allclose(layer(x), classifier(shots=None)(x)[:, 1:])
    for bad in (["X0"], ["Z0Z0"], ["Z2"], []):
        with pytest.raises(RequestValidationError):
            classifier(observables=bad)
    with pytest.raises(RequestValidationError, match="need shot counts"):
        classifier(shots=None, observables=["Z0Z1"])(x)


def test_deepcopy_shares_the_provider_and_pickle_reopens_it(tmp_path):
    layer = classifier(shots=None, gradient="qtdnn")
    x, _ = blobs(8)
    layer(x.clone().requires_grad_(True)).sum().backward()  # a refit: optimiser state exists
    target = copy.deepcopy(layer)
    assert target.dispatcher is layer.dispatcher and target.weights is not layer.weights
    assert torch.equal(target(x), layer(x))
    clone = pickle.loads(pickle.dumps(layer))
    assert clone.dispatcher is None  # opened again on first use, from the provider's name
    assert torch.allclose(clone(x), layer(x))
    for (name, a), b in zip(layer.state_dict().items(), clone.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    with get_provider("local") as provider:
        built = QuantumLayer(layer.template, provider, weights=WEIGHTS)
        on_object = pickle.loads(pickle.dumps(built))
        with pytest.raises(QhilError, match="set layer.dispatcher"):
            on_object(x)
        on_object.dispatcher = Dispatcher(provider)
        assert on_object(x).shape == (8, 2)


def test_the_ledger_is_the_file_the_user_names(tmp_path):
    path = tmp_path / "run.sqlite"
    layer = classifier(shots=100, ledger=path)
    x, _ = blobs(5)
    first = layer(x)
    layer.close()
    entries = Ledger(path).entries()
    assert len(entries) == 1 and entries[0].circuits == 5
    again = classifier(shots=100, ledger=path)  # same rows, same seed: the stored result is reused
    assert torch.equal(again(x), first) and len(Ledger(path).entries()) == 1
    again.close()


def test_mean_field_prior_where_it_applies_and_refused_with_the_reason_elsewhere():
    product = CircuitTemplate.from_qasm("""OPENQASM 3.0;
input float[64] a; input float[64] b; input float[64] w;
qubit[2] q;
rx(a) q[0]; ry(b) q[1]; rz(w) q[0]; ry(0.5 * w) q[0];
""")  # no entangler: the mean-field model is exact
    layer = QuantumLayer(product, "local", shots=None, prior="mean-field", weights=["w"],
                         observables=["Z0", "Z0Z1"])
    x, _ = blobs(6)
    with torch.no_grad():
        assert torch.allclose(layer.strategy.predict(layer.rows(x)),
                              (1 - layer.exact(x)) / 2, atol=2e-4)  # P(odd), clamped at 1e-4
    pickle.loads(pickle.dumps(layer))
    with pytest.raises(RequestValidationError, match=r"gate 4 \(cx on \(0, 1\)\)"):
        classifier(prior="mean-field")
