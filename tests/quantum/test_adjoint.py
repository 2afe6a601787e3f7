"""Adjoint differentiation of the marginals against autograd through the simulator and finite
differences.

Tolerances: complex128 agrees with autograd to 1e-10 (measured ~1e-15) and with central finite
differences (h = 1e-5) to 1e-7; complex64 agrees with complex128 to 2e-5 (float32 rounding
accumulated over up to 10 layers of 2**10 amplitudes).
"""

from __future__ import annotations

import pytest
import torch

from qhil.layers.gradients import jacobian
from qhil.layers.hdqnn import ControlMap, exact_jacobian
from qhil.quantum.adjoint import (
    adjoint_marginals,
    marginal_jacobian,
    marginal_vjp,
    marginals_and_jacobian,
)
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.simulator import Simulator

CASES = [(1, 1, "data"), (2, 1, "data"), (2, 3, "chain"), (3, 2, "ring"), (4, 3, "data"),
         (5, 4, "chain"), (6, 2, "data"), (7, 3, "ring"), (10, 2, "data"), (10, 10, "data"),
         (10, 10, "ring")]


def circuits(n: int, layers: int, entangler: str, batch: int = 4, seed: int = 0):
    """Controls (batch, control_dim) in float64 and their angles, cz as tensors."""
    ansatz = HDQNNAnsatz(n, layers, entangler)
    raw = torch.randn(batch, ansatz.control_dim, dtype=torch.float64,
                      generator=torch.Generator().manual_seed(seed))
    controls = ControlMap(ansatz).double()(raw)
    angles, cz = ansatz.split(controls)
    return ansatz, controls, torch.from_numpy(angles), torch.from_numpy(cz)


@pytest.mark.parametrize(("n", "layers", "entangler"), CASES)
def test_jacobian_matches_autograd_through_the_simulator(n, layers, entangler):
    ansatz, controls, angles, cz = circuits(n, layers, entangler)
    sim = Simulator(n, precision="complex128")
    marg, jac = marginal_jacobian(angles, cz, "complex128")
    cols = ControlMap(ansatz).angle_columns()
    assert torch.allclose(marg, sim.marginals(angles, cz), atol=1e-12)
    autograd = jacobian(lambda a: sim.marginals(a.reshape(angles.shape), cz),
                        angles.reshape(angles.shape[0], -1), torch.arange(angles[0].numel()))
    assert torch.allclose(jac.flatten(2), autograd, atol=1e-10)
    # the T-block's exact Jacobian (the exact method's fidelity reference) is this one
    assert torch.allclose(exact_jacobian(sim, ansatz, controls, cols), autograd, atol=1e-10)


@pytest.mark.parametrize(("n", "layers", "entangler"), CASES[:8])
def test_vjp_is_the_jacobian_contracted_with_the_upstream_gradient(n, layers, entangler):
    _, _, angles, cz = circuits(n, layers, entangler, seed=1)
    upstream = torch.randn(angles.shape[0], n, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(2))
    _, jac = marginal_jacobian(angles, cz, "complex128")
    _, vjp = marginal_vjp(angles, cz, upstream, "complex128")
    assert torch.allclose(vjp, torch.einsum("bj,bjlqk->blqk", upstream, jac), atol=1e-12)


@pytest.mark.parametrize(("n", "layers", "entangler"), [(2, 2, "data"), (4, 3, "ring"), (6, 4, "data")])
def test_jacobian_matches_central_finite_differences(n, layers, entangler):
    _, _, angles, cz = circuits(n, layers, entangler, batch=2, seed=3)
    _, jac = marginal_jacobian(angles, cz, "complex128")
    sim, h = Simulator(n, precision="complex128"), 1e-5
    for row, layer, qubit, axis in [(0, 0, 0, 0), (1, layers - 1, n - 1, 1), (0, layers // 2, n // 2, 1)]:
        step = torch.zeros_like(angles)
        step[row, layer, qubit, axis] = h
        slope = (sim.marginals(angles + step, cz) - sim.marginals(angles - step, cz)) / (2 * h)
        assert torch.allclose(jac[row, :, layer, qubit, axis], slope[row], atol=1e-7)


def test_complex64_agrees_with_complex128_at_paper_scale():
    _, _, angles, cz = circuits(10, 10, "data", batch=8, seed=4)
    upstream = torch.randn(8, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    m64, g64 = marginal_vjp(angles.float(), cz, upstream.float())
    m128, g128 = marginal_vjp(angles, cz, upstream, "complex128")
    assert g64.dtype == torch.float32
    assert torch.allclose(m64.double(), m128, atol=2e-5)
    assert torch.allclose(g64.double(), g128, atol=2e-5)


def test_adjoint_marginals_passes_gradcheck():
    _, _, angles, cz = circuits(3, 2, "data", batch=2, seed=6)
    x = angles.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: adjoint_marginals(a, cz, "complex128"), (x,))


def test_batches_wider_than_a_chunk_are_split_and_rejoined():
    _, _, angles, cz = circuits(12, 1, "data", batch=130, seed=7)  # 21 rows per chunk at n=12
    upstream = torch.ones(130, 12, dtype=torch.float64)
    marg, vjp = marginal_vjp(angles, cz, upstream, "complex128")
    _, one = marginal_vjp(angles[129:], cz[129:], upstream[129:], "complex128")
    assert torch.allclose(marg, Simulator(12, precision="complex128").marginals(angles, cz))
    assert torch.allclose(vjp[129:], one, atol=1e-12)


def test_jacobian_chunks_hold_fewer_circuits_and_agree_with_one_circuit():
    _, _, angles, cz = circuits(10, 2, "ring", batch=20, seed=8)  # 8 circuits x 10 bras a chunk
    marg, jac = marginal_jacobian(angles, cz, "complex128")
    _, one = marginal_jacobian(angles[17:18], cz[17:18], "complex128")
    assert torch.allclose(marg, Simulator(10, precision="complex128").marginals(angles, cz))
    assert torch.allclose(jac[17:18], one, atol=1e-12)


@pytest.mark.parametrize("rows", [1, 3, 5, 9])
def test_marginals_and_jacobian_read_the_head_rows_vjp_from_their_jacobian(rows):
    _, _, angles, cz = circuits(5, 3, "data", batch=5, seed=9)
    upstream = torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    x = angles.clone().requires_grad_(True)
    marg, jac = marginals_and_jacobian(x, cz, rows, "complex128")
    (grad,) = torch.autograd.grad((marg * upstream).sum(), x)
    want_marg, want_grad = marginal_vjp(angles, cz, upstream, "complex128")
    assert torch.allclose(marg, want_marg, atol=1e-13)
    assert torch.allclose(grad, want_grad, atol=1e-12)
    assert jac.shape[0] == min(rows, 5) and not jac.requires_grad
    assert torch.allclose(jac, marginal_jacobian(angles[:rows], cz[:rows], "complex128")[1], atol=1e-13)
