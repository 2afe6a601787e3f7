"""Translation to Qiskit against qiskit.quantum_info.Statevector, the embedded simulator and
the dense numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qhil import HDQNNAnsatz
from qhil.adapters.qiskit_circuits import (
    bound_circuit,
    probabilities_qubit0_first,
    translate,
)
from qhil.quantum.request import SamplingRequest
from qhil.quantum.simulator import Simulator
from tests.conftest import random_controls
from tests.reference import reference_probabilities


def _reference(req: SamplingRequest) -> np.ndarray:
    return np.stack([reference_probabilities(a, c) for a, c in zip(*req.hdqnn_arrays, strict=True)])


def _random_request(rng, batch, layers, qubits, pairs) -> SamplingRequest:
    angles = rng.uniform(-np.pi, np.pi, (batch, layers, qubits, 2))
    cz = rng.integers(0, qubits, (batch, layers, pairs, 2))
    return SamplingRequest.from_hdqnn(angles, cz, shots=None)


def _qiskit_probabilities(request: SamplingRequest) -> np.ndarray:
    out = np.zeros((request.batch_size, 2 ** request.n_qubits))
    for pub in translate(request, measure=False):
        for index, row in enumerate(pub.rows):
            sv = Statevector(bound_circuit(pub, index))
            out[row] = probabilities_qubit0_first(sv.probabilities(), request.n_qubits)
    return out


@pytest.mark.parametrize("qubits,layers,pairs", [(1, 2, 1), (3, 2, 1), (4, 3, 3), (5, 2, 0)])
def test_translation_matches_statevector_simulator_and_reference(rng, qubits, layers, pairs):
    req = _random_request(rng, 8, layers, qubits, pairs)
    ours = _qiskit_probabilities(req)
    sim = Simulator(qubits, precision="complex128")
    embedded = sim.probabilities(*(torch.from_numpy(a) for a in req.hdqnn_arrays)).numpy()
    assert np.abs(ours - embedded).max() <= 1e-5
    assert np.abs(ours - _reference(req)).max() <= 1e-5


def test_hdqnn_ansatz_requests_translate_for_both_entanglers(rng):
    for entangler in ("data", "ring"):
        ansatz = HDQNNAnsatz(4, 3, entangler)
        req = ansatz.request(random_controls(rng, ansatz, 6), shots=None)
        ours = _qiskit_probabilities(req)
        assert np.abs(ours - _reference(req)).max() <= 1e-5


def test_one_pub_per_structure_with_row_values(rng):
    ansatz = HDQNNAnsatz(3, 2, "ring")
    req = ansatz.request(random_controls(rng, ansatz, 16), shots=10)
    (pub,) = translate(req)
    assert pub.rows == list(range(16)) and pub.values.shape == (16, 12)
    assert pub.circuit.num_parameters == 12
    np.testing.assert_array_equal(np.sort(pub.values[3]), np.sort(req.hdqnn_arrays[0][3].reshape(-1)))
    data = HDQNNAnsatz(3, 2)
    req = data.request(random_controls(rng, data, 40), shots=10)
    pubs = translate(req)
    assert len(pubs) == len(req.structures()) and sorted(r for p in pubs for r in p.rows) == list(range(40))


def test_self_pairs_are_no_gate_and_bitstrings_read_qubit0_first():
    cz = np.array([[[[1, 1], [0, 2]]]])
    flip_qubit0 = np.zeros((1, 1, 3, 2))
    flip_qubit0[0, 0, 0, 0] = np.pi  # RX(pi) on qubit 0 only
    req = SamplingRequest.from_hdqnn(flip_qubit0, cz, shots=None)
    (pub,) = translate(req)
    assert pub.circuit.count_ops().get("cz") == 1
    (bare,) = translate(req, measure=False)
    probs = Statevector(bound_circuit(bare, 0)).probabilities()
    assert probabilities_qubit0_first(probs, 3)[0b100] == pytest.approx(1.0)
