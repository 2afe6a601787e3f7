"""The fast simulator kernels against an independent per-qubit numpy reference (scales to n=16)."""

import numpy as np
import pytest
import torch

from qhil import HDQNNAnsatz, Simulator
from qhil.quantum import simulator
from qhil.quantum.simulator import ROW_CZ_MIN_QUBITS
from qhil.quantum.statevector import (
    apply_single_qubit_layer,
    cz_signs,
    default_groups,
    gate_parts,
    group_kron,
    kron_batch,
    marginals_from_probabilities,
    negate_cz_rows_,
    rx_ry_matrices,
)
from tests.conftest import random_controls
from tests.reference import cz_diagonal, rx, ry

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def axis_reference_probabilities(angles: np.ndarray, cz: np.ndarray) -> np.ndarray:
    """angles (L, n, 2), cz (L, P, 2) -> (2**n,): one 2x2 gate per tensor axis, no Kronecker."""
    layers, n, _ = angles.shape
    state = np.zeros((2,) * n, dtype=complex)
    state[(0,) * n] = 1
    for layer in range(layers):
        for q in range(n):
            gate = ry(angles[layer, q, 1]) @ rx(angles[layer, q, 0])
            state = np.moveaxis(np.tensordot(gate, state, axes=([1], [q])), 0, q)
        for i, k in cz[layer]:
            state = state * cz_diagonal(n, int(i), int(k)).reshape(state.shape)
    return np.abs(state.reshape(-1)) ** 2


def circuits(rng, n, layers, batch, entangler="data"):
    ansatz = HDQNNAnsatz(n, layers, entangler)
    return ansatz.split(random_controls(rng, ansatz, batch))


def test_n16_small_batch_matches_axis_reference(rng):
    angles, cz = circuits(rng, 16, 3, 2)
    sim = Simulator(16)
    probs = sim.probabilities(torch.from_numpy(angles), torch.from_numpy(cz)).double().numpy()
    expected = np.stack([axis_reference_probabilities(a, c) for a, c in zip(angles, cz, strict=True)])
    np.testing.assert_allclose(probs, expected, atol=2e-6)
    bits = (np.arange(2 ** 16)[:, None] >> np.arange(15, -1, -1)) & 1
    marg = sim.marginals(torch.from_numpy(angles), torch.from_numpy(cz)).numpy()
    np.testing.assert_allclose(marg, expected @ bits, atol=2e-6)  # the probabilities' own error


@pytest.mark.parametrize("n", [1, 2, 9, 16])
def test_float32_marginals_sum_as_closely_as_float64(rng, n):
    """A float32 sum of 2**15 probabilities in a row drifted 3e-5; the grid sums stay at rounding."""
    probs = torch.from_numpy(rng.dirichlet(np.ones(2 ** n), size=3)).float()
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    marg = marginals_from_probabilities(probs)
    assert marg.dtype == torch.float32
    np.testing.assert_allclose(marg.numpy(), probs.double().numpy() @ bits, atol=3e-7)


@pytest.mark.parametrize("n,entangler", [(8, "data"), (11, "data"), (12, "ring"), (13, "chain"),
                                         (14, "data")])
def test_middle_groups_match_axis_reference(rng, n, entangler):
    assert len(default_groups(n)) >= 2
    angles, cz = circuits(rng, n, 3, 3, entangler)
    sim = Simulator(n, precision="complex128")
    probs = sim.probabilities(torch.from_numpy(angles), torch.from_numpy(cz)).numpy()
    expected = np.stack([axis_reference_probabilities(a, c) for a, c in zip(angles, cz, strict=True)])
    np.testing.assert_allclose(probs, expected, atol=1e-12)


@pytest.mark.parametrize("groups", [(7,), (1, 5, 1), (2, 3, 2), (3, 4), (1, 1, 1, 1, 1, 1, 1)])
def test_apply_single_qubit_layer_any_grouping(rng, groups):
    state = torch.from_numpy(rng.normal(size=(3, 2 ** 7)) + 1j * rng.normal(size=(3, 2 ** 7)))
    mats = rx_ry_matrices(torch.from_numpy(rng.uniform(-3, 3, (3, 7, 2))), torch.complex128)
    out = apply_single_qubit_layer(state, mats, groups)
    full = kron_batch(mats)
    np.testing.assert_allclose(out.numpy(), torch.einsum("bij,bj->bi", full, state).numpy(),
                               atol=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
def test_group_kron_matches_kron_of_gate_matrices(rng, size):
    angles = torch.from_numpy(rng.uniform(-3, 3, (4, 2, 7, 2)))
    parts = gate_parts(angles, torch.float64)
    mats = rx_ry_matrices(angles, torch.complex128)[:, :, 1:1 + size]  # (B, L, k, 2, 2)
    expected = torch.stack([kron_batch(mats[:, layer]) for layer in range(2)])
    kron = group_kron(parts, 1, size)
    np.testing.assert_allclose(kron.numpy(), expected.numpy(), atol=1e-12)
    kron_t = group_kron(parts, 1, size, transpose=True)
    np.testing.assert_allclose(kron_t.numpy(), expected.transpose(-1, -2).numpy(), atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_gradients_through_every_group_kind(rng, device):
    angles, cz = circuits(rng, 7, 2, 1)
    sim = Simulator(7, device=device, precision="complex128")
    sim.groups = (2, 3, 2)  # left, middle and right-multiplied groups
    x = torch.tensor(angles, device=device, requires_grad=True)
    cz_t = torch.from_numpy(cz).to(device)
    assert torch.autograd.gradcheck(lambda a: sim.marginals(a, cz_t), (x,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_statevector_matches_probabilities_and_device(rng, device):
    angles, cz = circuits(rng, 10, 4, 5)
    sim = Simulator(10, device=device)
    state = sim.statevector(torch.from_numpy(angles), torch.from_numpy(cz))
    probs = sim.probabilities(torch.from_numpy(angles), torch.from_numpy(cz))
    assert state.device.type == device and state.dtype == torch.complex64
    np.testing.assert_allclose(state.abs().square().cpu().numpy(), probs.cpu().numpy(), atol=1e-6)


def test_row_negation_matches_sign_vectors(rng):
    """negate_cz_rows_ (the wide-register data CZ) is the same diagonal as cz_signs, pair (i, i)
    and repeated pairs included."""
    n = 6
    pairs = torch.from_numpy(rng.integers(0, n, size=(9, 3, 2)))
    pairs[0] = torch.tensor([[2, 2], [1, 4], [4, 1]])  # no gate, then a pair that cancels
    state = torch.randn(9, 2 ** n, dtype=torch.complex64)
    expected = state * cz_signs(n, pairs, torch.complex64)
    assert torch.equal(negate_cz_rows_(state.clone(), pairs, n), expected)
    assert torch.equal(expected[0], state[0])
    same = pairs[2:3].expand(9, 3, 2)
    assert torch.equal(negate_cz_rows_(state.clone(), same, n, shared=True),
                       state * cz_signs(n, same, torch.complex64))


@pytest.mark.parametrize("one_row_chunks", [False, True])
def test_wide_data_entangler_same_without_and_with_autograd(rng, monkeypatch, one_row_chunks):
    """From ROW_CZ_MIN_QUBITS qubits the no-grad path negates rows in place (a one-row chunk:
    as a structure the chunk shares); autograd multiplies by sign vectors. Same probabilities."""
    n = ROW_CZ_MIN_QUBITS
    if one_row_chunks:
        monkeypatch.setattr(simulator, "CPU_CHUNK_BYTES", 8 * 2 ** n)
    angles, cz = (torch.from_numpy(a) for a in circuits(rng, n, 3, 3, "data"))
    sim = Simulator(n)
    with torch.no_grad():
        fast = sim.probabilities(angles, cz)
    slow = sim.probabilities(angles.clone().requires_grad_(True), cz)
    torch.testing.assert_close(fast, slow.detach(), atol=1e-6, rtol=0)
