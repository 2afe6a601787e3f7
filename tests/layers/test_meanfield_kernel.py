"""`meanfield_marginals` (hand-written backward) against `meanfield_reference` (gate by gate,
autograd): values and gradients equal to float rounding, for every entangler and shape."""

import numpy as np
import pytest
import torch

from qhil import HDQNNAnsatz
from qhil.layers.meanfield import meanfield_marginals, meanfield_reference

TOL = {torch.float32: 2e-6, torch.float64: 1e-13}


def _controls(ansatz: HDQNNAnsatz, batch: int, dtype, seed: int = 0) -> torch.Tensor:
    rows = ansatz.random_controls(batch, np.random.default_rng(seed))
    return torch.tensor(rows, dtype=dtype, requires_grad=True)


def _value_and_grad(fn, ansatz, controls, upstream):
    value = fn(ansatz, controls)
    return value, torch.autograd.grad((value * upstream).sum(), controls)[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("entangler", ["data", "ring", "chain"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 10])
@pytest.mark.parametrize("layers", [1, 2, 10])
def test_values_and_gradients_match_the_reference(dtype, entangler, n, layers):
    ansatz = HDQNNAnsatz(n, layers, entangler)
    for batch in (1, 7):
        controls = _controls(ansatz, batch, dtype, seed=n * layers + batch)
        upstream = torch.randn(batch, n, dtype=dtype, generator=torch.Generator().manual_seed(batch))
        value, grad = _value_and_grad(meanfield_marginals, ansatz, controls, upstream)
        ref_value, ref_grad = _value_and_grad(meanfield_reference, ansatz, controls, upstream)
        assert value.shape == (batch, n) and value.dtype == dtype
        assert torch.allclose(value, ref_value, rtol=0, atol=TOL[dtype])
        assert torch.allclose(grad, ref_grad, rtol=0, atol=TOL[dtype] * layers)


@pytest.mark.parametrize("entangler", ["data", "ring"])
def test_hand_written_backward_passes_gradcheck(entangler):
    ansatz = HDQNNAnsatz(3, 2, entangler)
    controls = _controls(ansatz, 4, torch.float64)
    assert torch.autograd.gradcheck(lambda c: meanfield_marginals(ansatz, c), (controls,))


def test_index_columns_are_rounded_and_clamped_and_get_no_gradient():
    ansatz = HDQNNAnsatz(4, 2)
    controls = _controls(ansatz, 4, torch.float64).detach()
    index = [8, 9, 18, 19]  # both layers' (i, k) columns
    raw = torch.tensor([[0.4, 2.6], [-3.0, 99.0], [1.2, 0.8], [2.51, 2.49]], dtype=torch.float64)
    controls[:, index] = raw.repeat(1, 2)
    rounded = controls.clone()
    rounded[:, index] = raw.round().clamp(0, 3).repeat(1, 2)
    controls.requires_grad_()
    value = meanfield_marginals(ansatz, controls)
    assert torch.equal(value, meanfield_marginals(ansatz, rounded))
    assert torch.allclose(value, meanfield_reference(ansatz, controls), atol=1e-14)
    grad = torch.autograd.grad(value.sum(), controls)[0]
    assert torch.all(grad[:, index] == 0) and torch.any(grad != 0)


def test_a_cz_with_i_equal_to_k_is_no_gate():
    """i == k in every layer: the qubits stay uncorrelated product states of their rotations
    alone, so each marginal depends only on its own qubit's angles."""
    ansatz = HDQNNAnsatz(3, 2)
    controls = _controls(ansatz, 5, torch.float64).detach()
    controls[:, [6, 7, 14, 15]] = torch.tensor([1.0, 1.0, 2.0, 2.0], dtype=torch.float64)
    moved = controls.clone()
    moved[:, [0, 1, 8, 9]] += 0.7  # qubit 0's angles in both layers
    before, after = meanfield_marginals(ansatz, controls), meanfield_marginals(ansatz, moved)
    assert torch.equal(before[:, 1:], after[:, 1:]) and not torch.allclose(before[:, 0], after[:, 0])


def test_runs_without_grad_and_on_controls_that_need_none():
    ansatz = HDQNNAnsatz(4, 2)
    controls = _controls(ansatz, 6, torch.float32).detach()
    with torch.no_grad():
        quiet = meanfield_marginals(ansatz, controls)
    assert not quiet.requires_grad
    assert torch.equal(quiet, meanfield_marginals(ansatz, controls))
    assert torch.allclose(quiet, meanfield_reference(ansatz, controls), atol=2e-6)


def test_backward_runs_under_batched_grads_as_the_surrogate_jacobian_does():
    """qhil.layers.gradients.jacobian takes one vmapped backward per output
    (is_grads_batched): the hand-written backward must support it."""
    ansatz = HDQNNAnsatz(3, 2)
    controls = _controls(ansatz, 4, torch.float64)
    eye = torch.eye(3, dtype=torch.float64)[:, None, :].expand(3, 4, 3)
    jac = {fn: torch.autograd.grad(fn(ansatz, controls), controls, eye, is_grads_batched=True)[0]
           for fn in (meanfield_marginals, meanfield_reference)}
    assert jac[meanfield_marginals].shape == (3, 4, ansatz.control_dim)
    assert torch.allclose(jac[meanfield_marginals], jac[meanfield_reference], atol=1e-13)
