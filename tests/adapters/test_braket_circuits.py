"""Translation of SamplingRequests to Braket circuits, checked against Braket's own simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from braket.devices import LocalSimulator
from braket.ir.openqasm import Program

from qhil import HDQNNAnsatz
from qhil.adapters.braket_circuits import (
    GateNoise,
    bindings,
    chunk_bindings,
    marginals_and_counts,
    program_set,
)
from qhil.quantum.bitstrings import probability_marginals
from qhil.quantum.request import SamplingRequest
from qhil.quantum.simulator import Simulator
from tests.conftest import random_controls
from tests.reference import reference_probabilities


@pytest.fixture(scope="module")
def braket_sv():
    return LocalSimulator("default")


def braket_probabilities(device, request: SamplingRequest) -> np.ndarray:
    """Exact probabilities from Braket: shots=0 with a Probability result type, per row."""
    out = np.zeros((request.batch_size, 2 ** request.n_qubits))
    for part in bindings(request):
        for index, row in enumerate(part.rows):
            circuit = part.bound(index)
            circuit.probability()
            out[row] = device.run(circuit, shots=0).result().values[0]
    return out


@pytest.mark.parametrize("n, layers, entangler", [(3, 2, "data"), (4, 3, "data"), (5, 2, "ring"),
                                                 (4, 2, "chain"), (1, 2, "data")])
def test_braket_probabilities_match_reference_and_embedded_simulator(braket_sv, rng, n, layers, entangler):
    ansatz = HDQNNAnsatz(n, layers, entangler)
    req = ansatz.request(random_controls(rng, ansatz, 6), shots=None)
    got = braket_probabilities(braket_sv, req)
    reference = np.stack([reference_probabilities(a, c) for a, c in zip(*req.hdqnn_arrays, strict=True)])
    embedded = Simulator(n, precision="complex128").probabilities(
        *(torch.from_numpy(a) for a in req.hdqnn_arrays)).numpy()
    assert np.abs(got - reference).max() <= 1e-5
    assert np.abs(got - embedded).max() <= 1e-5


def test_several_cz_pairs_per_layer_and_self_pairs_are_no_gate(braket_sv, rng):
    angles = rng.uniform(-np.pi, np.pi, (3, 2, 4, 2))
    cz = np.array([[[0, 3], [2, 2], [1, 2]], [[1, 1], [3, 0], [0, 1]]])
    req = SamplingRequest.from_hdqnn(angles, np.broadcast_to(cz, (3, *cz.shape)).copy(), shots=None)
    circuit = bindings(req)[0].circuit
    assert sum(type(i.operator).__name__ == "CZ" for i in circuit.instructions) == 4
    got = braket_probabilities(braket_sv, req)
    reference = np.stack([reference_probabilities(a, c) for a, c in zip(*req.hdqnn_arrays, strict=True)])
    assert np.abs(got - reference).max() <= 1e-5


def split_qasm(source: str) -> tuple[set[str], list[str]]:
    lines = source.splitlines()
    return {x for x in lines if x.startswith("input ")}, [x for x in lines if not x.startswith("input ")]


@pytest.mark.parametrize("noise", [None, GateNoise(0.01, 0.02, 0.03)])
def test_direct_openqasm_is_what_the_sdk_would_send_for_a_circuit_binding(rng, noise):
    ansatz = HDQNNAnsatz(3, 3)
    req = ansatz.request(random_controls(rng, ansatz, 4), shots=10)
    for part in bindings(req, noise):
        sdk, ours = part.to_braket().to_ir(), part.to_program()
        assert split_qasm(ours.source) == split_qasm(sdk.source)
        assert ours.inputs == sdk.inputs
        assert Program.parse_raw(ours.json()).inputs == sdk.inputs


def test_bit_order_is_qubit_zero_first(braket_sv):
    angles = np.zeros((1, 1, 3, 2))
    angles[0, 0, 0, 0] = np.pi  # RX(pi) on qubit 0 only
    req = SamplingRequest.from_hdqnn(angles, np.zeros((1, 1, 1, 2), dtype=int), shots=10)
    part = bindings(req)[0]
    counts = dict(braket_sv.run(part.bound(0), shots=10).result().measurement_counts)
    assert counts == {"100": 10}
    marginals, _ = marginals_and_counts([counts], 3)
    np.testing.assert_array_equal(marginals, [[1.0, 0.0, 0.0]])
    probs = np.zeros((1, 8))
    probs[0, 0b100] = 1
    np.testing.assert_array_equal(probability_marginals(probs), [[1.0, 0.0, 0.0]])


def test_one_circuit_per_structure_and_bindings_keep_request_order(rng):
    ansatz = HDQNNAnsatz(3, 2)
    controls = random_controls(rng, ansatz, 4)
    controls = np.concatenate([controls[:2], controls[:2] + 0.01, controls[2:]])  # rows 0,1 == 2,3
    controls[[0, 2], 6:8] = controls[[1, 3], 6:8]  # rows 0..3 share layer-0 CZ with their pair
    controls[[0, 2], 14:16] = controls[[1, 3], 14:16]
    req = ansatz.request(controls, shots=10)
    parts = bindings(req)
    assert [r for p in parts for r in p.rows] == list(range(6))
    distinct = {id(p.circuit) for p in parts}
    assert len(distinct) == len(req.structures())
    fixed = HDQNNAnsatz(3, 2, "ring")
    one = bindings(fixed.request(random_controls(rng, fixed, 9), shots=10))
    assert len(one) == 1 and one[0].rows == list(range(9))


def test_input_sets_hold_the_angles_of_their_rows(rng):
    ansatz = HDQNNAnsatz(2, 2, "chain")
    req = ansatz.request(random_controls(rng, ansatz, 3), shots=10)
    inputs = bindings(req)[0].input_sets
    angles = req.hdqnn_arrays[0]  # column (layer * n + qubit) * 2 + RX/RY
    assert inputs[2]["p_4"] == angles[2, 1, 0, 0] and inputs[1]["p_3"] == angles[1, 0, 1, 1]


def test_chunks_respect_the_executable_limit_and_keep_order(rng):
    ansatz = HDQNNAnsatz(3, 2)
    req = ansatz.request(random_controls(rng, ansatz, 11), shots=10)
    chunks = chunk_bindings(bindings(req), 4)
    sizes = [sum(len(p.rows) for p in chunk) for chunk in chunks]
    assert sizes == [4, 4, 3]
    assert [r for chunk in chunks for p in chunk for r in p.rows] == list(range(11))
    fixed = HDQNNAnsatz(3, 2, "ring")
    chunks = chunk_bindings(bindings(fixed.request(random_controls(rng, fixed, 10), shots=7)), 4)
    assert [program_set(c, 7).total_shots for c in chunks] == [28, 28, 14]
