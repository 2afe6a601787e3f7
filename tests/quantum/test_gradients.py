"""Gradient methods of the quantum layer: the shift rule, SPSA, the Jacobian pass-through, and
the mean-field surrogate, each checked against autograd through the exact simulator."""

from __future__ import annotations

import pytest
import torch

from qhil.errors import RequestValidationError
from qhil.layers import gradients as g
from qhil.layers.hdqnn import AnsatzCircuit, ControlMap, exact_jacobian, exact_marginals
from qhil.layers.meanfield import MeanFieldQtDNN, meanfield_marginals
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.simulator import Simulator, multinomial_counts
from qhil.quantum.template_gates import FOUR


def _setup(n: int = 3, layers: int = 2, batch: int = 6, seed: int = 0):
    ansatz = HDQNNAnsatz(n, layers)
    cmap = ControlMap(ansatz)
    raw = torch.randn(batch, ansatz.control_dim, generator=torch.Generator().manual_seed(seed),
                      dtype=torch.float64)
    sim = Simulator(n, precision="complex128")
    return ansatz, cmap.angle_columns(), cmap(raw), sim


def _circuit(ansatz, cols, sim):
    """The ansatz as the engine sees it, its provider the exact simulator."""
    def sample(rows, purpose):
        return exact_marginals(sim, ansatz, torch.from_numpy(rows)).numpy()
    return AnsatzCircuit(ansatz, cols, sample, sim)


def test_parameter_shift_of_exact_marginals_is_the_exact_jacobian():
    ansatz, cols, controls, sim = _setup()
    circuit = _circuit(ansatz, cols, sim)
    occ = circuit.occurrences(controls)
    shifted = g.shifted_angles(occ.angles, occ.rules)
    assert shifted.shape == (6, 2 * len(cols), len(cols))
    strategy = g.strategy("parameter-shift")
    x = controls.clone().requires_grad_(True)
    y = strategy.apply(x, circuit)  # the centre rides in the shifted request
    assert torch.allclose(y, exact_marginals(sim, ansatz, controls), atol=1e-10)
    exact = exact_jacobian(sim, ansatz, controls, cols)
    assert torch.allclose(strategy.jacobian(x, circuit), exact, atol=1e-8)
    assert g.circuits_per_sample("parameter-shift", len(cols)) == 1 + shifted.shape[1]


def test_four_term_rule_and_chain_rule_of_the_angle_derivative():
    # f(t) = cos(t / 2)^2 of a controlled rotation's angle; its angle is 3 x, so df/dx = 3 f'(t)
    t = torch.tensor([[0.3], [1.1], [-2.0]], dtype=torch.float64)
    occ = g.Occurrences(t, torch.tensor([[3.0]], dtype=torch.float64), (FOUR,))
    shifted = g.shifted_angles(t, occ.rules)
    outputs = (torch.cos(shifted / 2) ** 2)  # (B, 4, 1)
    jac = g.shift_jacobian(outputs, occ)
    assert torch.allclose(jac[:, 0, 0], 3 * -torch.sin(t[:, 0]) / 2, atol=1e-12)


def test_spsa_estimates_average_to_the_jacobian():
    ansatz, cols, controls, sim = _setup(batch=1)
    gen = torch.Generator().manual_seed(3)
    reps = controls.expand(4000, -1)
    directions = g.spsa_directions(4000, len(cols), gen)
    assert set(directions.unique().tolist()) == {-1.0, 1.0}
    perturbed = g.spsa_rows(reps, cols, directions, 0.05).reshape(-1, ansatz.control_dim)
    marginals = exact_marginals(sim, ansatz, perturbed).reshape(4000, 2, -1)
    jac = g.spsa_jacobian(marginals, directions, 0.05)
    exact = exact_jacobian(sim, ansatz, controls, cols)[0]
    cos = torch.nn.functional.cosine_similarity(jac.mean(0).flatten(), exact.flatten(), dim=0)
    assert cos > 0.95
    one = torch.nn.functional.cosine_similarity(jac[0].flatten(), exact.flatten(), dim=0)
    assert one < cos  # a single SPSA draw is a rough, rank-1 estimate


def test_unknown_method_is_one_line():
    with pytest.raises(RequestValidationError, match="got 'backprop'"):
        g.strategy("backprop")


def test_with_jacobian_keeps_the_value_and_backpropagates_j_transpose():
    x = torch.randn(4, 7, requires_grad=True)
    cols = torch.tensor([0, 2, 5])
    y, jac = torch.rand(4, 2), torch.randn(4, 2, 3)
    out = g.with_jacobian(x, y, jac, cols)
    assert torch.equal(out.detach(), y)
    upstream = torch.randn(4, 2)
    (out * upstream).sum().backward()
    expected = torch.zeros(4, 7)
    expected[:, cols] = torch.einsum("bn,bnd->bd", upstream, jac)
    assert torch.allclose(x.grad, expected)


def test_meanfield_is_exact_without_correlations_and_close_at_10x10():
    ansatz, cols, controls, sim = _setup(n=4, layers=2, batch=16)
    # one entangling layer before the measurement: the qubits are uncorrelated before each CZ
    assert torch.allclose(meanfield_marginals(ansatz, controls), exact_marginals(sim, ansatz, controls),
                          atol=1e-10)
    ansatz, cols, controls, sim = _setup(n=10, layers=10, batch=16)
    err = (meanfield_marginals(ansatz, controls) - exact_marginals(sim, ansatz, controls)).abs()
    assert 0 < err.mean() < 0.05  # an approximation, but a close one for one CZ per layer


def test_meanfield_qtdnn_starts_at_its_prior_and_is_fittable():
    ansatz, cols, controls, sim = _setup(n=4, layers=2, batch=8)
    model = MeanFieldQtDNN(ansatz, [16]).double()
    assert torch.allclose(model(controls), exact_marginals(sim, ansatz, controls), atol=1e-3)
    assert any(p.requires_grad for p in model.residual.parameters())


def test_multinomial_counts_sum_to_shots_and_match_the_probabilities():
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=torch.float64).expand(20000, -1)
    counts = multinomial_counts(probs, 50, torch.Generator().manual_seed(0))
    assert torch.all(counts.sum(1) == 50) and torch.all(counts >= 0)
    assert torch.allclose(counts.mean(0) / 50, probs[0], atol=0.003)


def test_sample_marginals_is_seeded_and_unbiased():
    ansatz, _, controls, _ = _setup(n=2, layers=1, batch=4000)
    req = ansatz.request(controls.numpy(), 100, seed=0)
    sim = Simulator(2)
    a, z = torch.from_numpy(req.hdqnn_arrays[0]), torch.from_numpy(req.hdqnn_arrays[1])
    first = sim.sample_marginals(a, z, 100, torch.Generator().manual_seed(1))
    again = sim.sample_marginals(a, z, 100, torch.Generator().manual_seed(1))
    assert torch.equal(first, again)
    exact = sim.marginals(a, z)
    sigma = (exact * (1 - exact) / 100).sqrt().clamp_min(1e-3)
    assert ((first - exact) / sigma).mean().abs() < 0.1
