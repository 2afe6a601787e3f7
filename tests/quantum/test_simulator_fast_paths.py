"""The CZ-diagonal, leading-group and chunked paths against Qiskit's Statevector, plus seeding."""

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qhil import HDQNNAnsatz, Simulator
from qhil.quantum import simulator as simulator_module
from qhil.quantum.simulator import chunk_rows, simulator_memory_bytes
from tests.conftest import random_controls

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def qiskit_marginals(angles: np.ndarray, cz: np.ndarray) -> np.ndarray:
    """angles (L, n, 2), cz (L, P, 2) -> P(qubit j reads 1) from qiskit.quantum_info."""
    layers, n, _ = angles.shape
    qc = QuantumCircuit(n)
    for layer in range(layers):
        for q in range(n):
            qc.rx(float(angles[layer, q, 0]), q)
            qc.ry(float(angles[layer, q, 1]), q)
        for i, k in cz[layer]:
            if i != k:
                qc.cz(int(i), int(k))
    probs = Statevector(qc).probabilities()  # little-endian: bit j of the index is qubit j
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    return probs @ bits


def circuits(rng, n, layers, batch, entangler):
    ansatz = HDQNNAnsatz(n, layers, entangler)
    return ansatz.split(random_controls(rng, ansatz, batch))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n,entangler", [(10, "data"), (10, "ring"), (13, "ring"), (13, "data")])
def test_complex64_marginals_match_qiskit_statevector(rng, device, n, entangler):
    angles, cz = circuits(rng, n, 6, 3, entangler)
    sim = Simulator(n, device=device)
    got = sim.marginals(torch.from_numpy(angles), torch.from_numpy(cz)).cpu().numpy()
    expected = np.stack([qiskit_marginals(a, c) for a, c in zip(angles, cz, strict=True)])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_mixed_multi_pair_structures_and_small_chunks_match_qiskit(rng, monkeypatch):
    n = 9
    angles, ring = circuits(rng, n, 4, 6, "ring")
    cz = ring.copy()
    cz[1::2, :, :, 1] = (cz[1::2, :, :, 1] + 3) % n  # a second pattern; some pairs (i, i)
    monkeypatch.setattr(simulator_module, "CPU_CHUNK_BYTES", 4 * 8 * 2 ** n)  # 4 rows a chunk
    assert chunk_rows(n, 6) == 4
    got = Simulator(n).marginals(torch.from_numpy(angles), torch.from_numpy(cz)).numpy()
    expected = np.stack([qiskit_marginals(a, c) for a, c in zip(angles, cz, strict=True)])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_gradients_through_shared_cz_diagonal(rng):
    angles, cz = circuits(rng, 5, 3, 2, "ring")
    sim = Simulator(5, precision="complex128")
    x = torch.tensor(angles, requires_grad=True)
    cz_t = torch.from_numpy(cz)
    assert torch.autograd.gradcheck(lambda a: sim.marginals(a, cz_t), (x,), eps=1e-6, atol=1e-6)


def test_statevector_includes_the_last_shared_cz(rng):
    angles, cz = circuits(rng, 4, 2, 2, "ring")
    sim = Simulator(4, precision="complex128")
    with_cz = sim.statevector(torch.from_numpy(angles), torch.from_numpy(cz))
    cz_none = cz.copy()
    cz_none[:, -1] = 0  # (0, 0) pairs: no gate in the last layer
    without = sim.statevector(torch.from_numpy(angles), torch.from_numpy(cz_none))
    np.testing.assert_allclose(with_cz.abs().numpy(), without.abs().numpy(), atol=1e-12)
    assert not torch.allclose(with_cz, without)


@pytest.mark.parametrize("threads", [1, 2])
def test_same_seed_same_samples_whatever_the_thread_count(rng, threads):
    angles, cz = circuits(rng, 10, 10, 64, "data")
    sim = Simulator(10)
    reference = sim.sample(torch.from_numpy(angles), torch.from_numpy(cz), 100,
                           torch.Generator().manual_seed(7)).indices
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        again = sim.sample(torch.from_numpy(angles), torch.from_numpy(cz), 100,
                           torch.Generator().manual_seed(7)).indices
    finally:
        torch.set_num_threads(before)
    assert torch.equal(reference, again)


def test_memory_need_is_pure_and_grows_with_the_problem():
    small = simulator_memory_bytes(10, 256)
    assert small == simulator_memory_bytes(10, 256, "complex64", "cpu")
    assert simulator_memory_bytes(10, 512) > small
    assert simulator_memory_bytes(10, 256, "complex128") > small
    assert simulator_memory_bytes(20, 1) >= 2 ** 20 * 8 * 4  # a 20-qubit state, four times
    assert Simulator(10).memory_bytes(256) == small


@pytest.mark.parametrize("batch, shots, n", [(1, 100, 4), (3, 16, 4), (2, 5, 6), (2, 0, 3),
                                             (0, 10, 2), (2, 300, 9)])
def test_counts_by_bincount_are_the_sorted_counts(batch, shots, n):
    """Small registers are tallied in one bincount (bitstrings._tallied); the counts and
    their order are those of sorting each row (np.unique)."""
    from qhil.quantum.bitstrings import counts_from_indices

    indices = np.random.default_rng(n).integers(0, 2 ** n, (batch, shots))
    by_sort = []
    for row in indices:
        values, freq = np.unique(row, return_counts=True)
        by_sort.append({format(int(v), f"0{n}b"): int(c)
                        for v, c in zip(values, freq, strict=True)})
    got = counts_from_indices(indices, n)
    assert got == by_sort and [list(c) for c in got] == [list(c) for c in by_sort]
