"""The paper's U3 + CU3 circuit: the controlled-gate kernel, the generator's state against Qiskit's
Statevector of the same native circuit, and the request the providers receive (run by the
embedded simulator, translated to Qiskit and transpiled to a device basis, translated to Braket)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import Operator, Statevector

from qhil.adapters.qiskit_circuits import bound_circuit, probabilities_qubit0_first, translate
from qhil.qtrl.circuit import cu3_steps, generator_request, single_qubit_step, u3_matrix
from qhil.qtrl.generator import QTGenerator, cu3_pairs, entangler_pairs
from qhil.quantum.simulator import Simulator
from qhil.quantum.statevector import apply_controlled_gate


def native_circuit(gen: QTGenerator) -> QuantumCircuit:
    """The same PQC written with Qiskit's own U and CU gates (CU with gamma 0 is CU3)."""
    n = gen.n_qubits
    qc = QuantumCircuit(n)
    u3 = gen.angles.detach().double().numpy()
    for block in range(gen.n_blocks):
        for q in range(n):
            qc.u(*u3[block, q], q)
        if gen.entangler == "cz":
            for i, k in entangler_pairs(n):
                if i != k:
                    qc.cz(i, k)
            continue
        for (c, t), angles in zip(cu3_pairs(n), gen.cu3_angles[block].detach().double().numpy(),
                                  strict=True):
            qc.cu(*angles, 0.0, c, t)
    return qc


def qiskit_state_qubit0_first(qc: QuantumCircuit) -> np.ndarray:
    """Qiskit's state (qubit 0 least significant) reordered to qhil's (qubit 0 most)."""
    return probabilities_qubit0_first(Statevector(qc).data, qc.num_qubits)


def dense_controlled(gate: np.ndarray, control: int, target: int, n: int) -> np.ndarray:
    """|0><0| (x) I + |1><1| (x) U as a dense 2**n matrix, qubit 0 most significant."""
    index = np.arange(2 ** n)
    bit = lambda q: (index >> (n - 1 - q)) & 1  # noqa: E731
    out = np.zeros((2 ** n, 2 ** n), complex)
    for col in index:
        if not bit(control)[col]:
            out[col, col] = 1
            continue
        for new in (0, 1):
            row = col ^ ((bit(target)[col] ^ new) << (n - 1 - target))
            out[row, col] = gate[new, bit(target)[col]]
    return out


@pytest.mark.parametrize("control,target", [(0, 1), (1, 0), (0, 3), (3, 1), (2, 3)])
def test_controlled_gate_kernel_matches_dense_matrix(control, target, rng):
    n = 4
    state = rng.normal(size=(2, 2 ** n)) + 1j * rng.normal(size=(2, 2 ** n))
    gate = u3_matrix(*rng.uniform(-3, 3, 3))
    ours = apply_controlled_gate(torch.tensor(state), torch.tensor(gate), control, target, n)
    expected = state @ dense_controlled(gate, control, target, n).T
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("entangler", ["cu3", "cz"])
@pytest.mark.parametrize("n_weights,blocks", [(3, 2), (20, 3), (200, 2)])
def test_generator_state_equals_qiskit_statevector(entangler, n_weights, blocks):
    gen = QTGenerator(n_weights, blocks, generator=torch.Generator().manual_seed(blocks),
                      entangler=entangler)
    ours = gen.statevector(torch.complex128).detach().numpy()
    np.testing.assert_allclose(ours, qiskit_state_qubit0_first(native_circuit(gen)), atol=1e-10)


def test_cu3_steps_equal_qiskits_cu3_gate(rng):
    angles = rng.uniform(-np.pi, np.pi, 3)
    unitary = np.eye(4, dtype=complex)
    for step in cu3_steps(0, 1, angles, 2):
        if isinstance(step, tuple):
            unitary = np.diag([1, 1, 1, -1]) @ unitary
        else:
            unitary = np.kron(step[0], step[1]) @ unitary
    qc = QuantumCircuit(2)
    qc.cu(*angles, 0.0, 1, 0)  # qhil's qubit 0 (most significant) is Qiskit's qubit 1
    np.testing.assert_allclose(unitary, Operator(qc).data, atol=1e-12)
    assert single_qubit_step(2, {}).shape == (2, 2, 2)


def _same_state(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(np.vdot(a, b)))


@pytest.mark.parametrize("entangler", ["cu3", "cz"])
def test_request_through_the_providers_translations_is_the_same_circuit(entangler):
    gen = QTGenerator(30, 2, generator=torch.Generator().manual_seed(7), entangler=entangler)
    reference = Statevector(native_circuit(gen)).data
    request = generator_request(gen, shots=100, seed=0)
    # the embedded simulator runs the request (local provider)
    sim = Simulator(gen.n_qubits, precision="complex128")
    probs = sim.probabilities(torch.tensor(request.angles), torch.tensor(request.cz))[0].numpy()
    np.testing.assert_allclose(probs, probabilities_qubit0_first(np.abs(reference) ** 2, 5), atol=1e-10)
    # Qiskit: the adapter's circuit (equal up to a global phase), then transpiled to a CZ basis
    (pub,) = translate(request, measure=False)
    logical = bound_circuit(pub, 0)
    assert _same_state(Statevector(logical).data, reference) == pytest.approx(1.0, abs=1e-9)
    isa = transpile(logical, basis_gates=["rz", "sx", "x", "cz"], optimization_level=1, seed_transpiler=0)
    assert set(isa.count_ops()) <= {"rz", "sx", "x", "cz"}
    assert _same_state(Statevector(isa).data, reference) == pytest.approx(1.0, abs=1e-9)


def test_braket_translation_of_the_request_is_the_same_circuit():
    pytest.importorskip("braket.circuits")
    from braket.devices import LocalSimulator

    from qhil.adapters.braket_circuits import parameter_name, structure_circuit

    gen = QTGenerator(30, 2, generator=torch.Generator().manual_seed(8))
    request = generator_request(gen, shots=100, seed=0)
    values = {parameter_name(layer, q, axis): float(request.angles[0, layer, q, axis])
              for layer in range(request.n_layers) for q in range(request.n_qubits) for axis in (0, 1)}
    circuit = structure_circuit(request.cz[0], request.n_qubits).make_bound_circuit(values)
    circuit.state_vector()
    state = LocalSimulator("braket_sv").run(circuit, shots=0).result().values[0]
    reference = probabilities_qubit0_first(Statevector(native_circuit(gen)).data, 5)
    assert _same_state(state, reference) == pytest.approx(1.0, abs=1e-6)  # Braket: qubit 0 first
