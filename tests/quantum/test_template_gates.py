"""The gate table, one gate at a time: matrices against Qiskit's, decompositions and the Braket
and OpenQASM 3 translations against the matrices, shift rules against finite differences, and
the Angle algebra."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import library as lib
from qiskit.quantum_info import Operator

from qhil.layers.gradients import shift_jacobian as engine_shift_jacobian
from qhil.layers.gradients import shifted_angles
from qhil.layers.outputs import Outputs
from qhil.layers.template_circuit import TemplateCircuit
from qhil.quantum.simulator import Simulator
from qhil.quantum.template import GATES, Angle, CircuitTemplate, Gate
from qhil.quantum.template_braket import template_to_braket
from qhil.quantum.template_decompose import DECOMPOSITIONS
from qhil.quantum.template_gates import matrix

SIM = Simulator(precision="complex128")
NAMES = sorted(GATES)


def one_gate(name: str) -> tuple[CircuitTemplate, np.ndarray]:
    """A template of the one gate on qubits 0.. (each angle its own column) and random angles."""
    spec = GATES[name]
    gate = Gate(name, tuple(range(spec.qubits)), tuple(Angle(k) for k in range(spec.angles)))
    angles = np.random.default_rng(NAMES.index(name)).uniform(-3, 3, spec.angles)
    return CircuitTemplate(max(spec.qubits, 1), [gate], n_params=spec.angles), angles


def unitary(template: CircuitTemplate, row: np.ndarray) -> np.ndarray:
    """The template's unitary (qubit 0 the high bit), column k from basis state k."""
    n, columns = template.n_qubits, []
    for k in range(2 ** n):
        flips = [Gate("x", (q,)) for q in range(n) if k >> (n - 1 - q) & 1]
        prepared = CircuitTemplate(n, flips + list(template.gates), n_params=template.n_params)
        columns.append(SIM.statevector(prepared, torch.from_numpy(row[None]))[0].numpy())
    return np.stack(columns, axis=1)


def phase_distance(a: np.ndarray, b: np.ndarray) -> float:
    k = np.argmax(np.abs(b))
    return float(np.abs(a - a.flat[k] / b.flat[k] * b).max())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_each_gate_matrix_is_qiskits(name, dtype):
    spec = GATES[name]
    angles = one_gate(name)[1]
    gate = getattr(lib, spec.qiskit)(*angles)
    if spec.qubits == 0:
        qc = QuantumCircuit(1)
        qc.append(gate, [])
        expected = Operator(qc).data[:1, :1]
    else:
        expected = Operator(gate).reverse_qargs().data  # Qiskit's qubit 0 is the low bit
    real = dtype.to_real()
    ours = matrix(name, [torch.tensor([a], dtype=real) for a in angles], dtype, torch.device("cpu"))
    tolerance = 1e-6 if dtype == torch.complex64 else 1e-12
    np.testing.assert_allclose(ours[0].numpy(), expected, atol=tolerance)


@pytest.mark.parametrize("name", sorted(DECOMPOSITIONS))
def test_each_decomposition_is_the_gate_up_to_global_phase(name):
    template, row = one_gate(name)
    gates = DECOMPOSITIONS[name](template.gates[0])
    decomposed = CircuitTemplate(template.n_qubits, gates, n_params=template.n_params)
    assert phase_distance(unitary(decomposed, row), unitary(template, row)) < 1e-12


@pytest.mark.parametrize("name", [n for n in NAMES if GATES[n].qubits > 0])
def test_each_gate_through_braket_is_the_same_unitary(name):
    template, row = one_gate(name)
    braket = template_to_braket(template, row).to_unitary()  # Braket: qubit 0 the high bit
    assert phase_distance(braket, unitary(template, row)) < 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_each_gate_through_openqasm_loads_in_qiskit_as_the_same_unitary(name):
    template, row = one_gate(name)
    text = template.to_qasm()
    assert CircuitTemplate.from_qasm(text) == template
    loaded = qasm3.loads(text)
    loaded.remove_final_measurements()
    bound = loaded.assign_parameters({p: row[int(p.name[1:])] for p in loaded.parameters})
    theirs = Operator(bound).reverse_qargs().data
    assert phase_distance(theirs, unitary(template, row)) < 1e-10


@pytest.mark.parametrize("name", [n for n in NAMES if GATES[n].angles])
def test_each_angle_shift_rule_is_the_derivative(name):
    """Parameter shift of each angle of the gate between random rotations, against central
    finite differences of the exact marginals."""
    spec = GATES[name]
    rng = np.random.default_rng(7)
    n = max(spec.qubits, 1)
    mix = [Gate(axis, (q,), (Angle.const(float(rng.uniform(-3, 3))),))
           for q in range(n) for axis in ("ry", "rz")]
    gate = Gate(name, tuple(range(spec.qubits)), tuple(Angle(k) for k in range(spec.angles)))
    template = CircuitTemplate(n, [*mix, gate, *mix[::-1]], n_params=spec.angles)
    params = torch.from_numpy(rng.uniform(-3, 3, (2, spec.angles)))
    assert torch.allclose(shift_jacobian(template, params), fd_jacobian(template, params),
                          atol=1e-6)


def shift_jacobian(template: CircuitTemplate, params: torch.Tensor) -> torch.Tensor:
    """(B, n, P) by the gradient engine's parameter-shift strategy (each gate's rule, chained
    with the angle's derivative) on exact marginals: what QuantumLayer sends to a provider."""
    circuit = TemplateCircuit(template, Outputs.qubits(None, template.n_qubits), None, None, 0)
    occ = circuit.occurrences(params)
    angles = shifted_angles(occ.angles, occ.rules)
    batch, shifts, k = angles.shape
    marginals = SIM.marginals(circuit.expanded, angles.reshape(batch * shifts, k))
    return engine_shift_jacobian(marginals.reshape(batch, shifts, template.n_qubits), occ)


def fd_jacobian(template: CircuitTemplate, params: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """(B, n, P) central finite differences of the exact marginals."""
    columns = []
    for j in range(template.n_params):
        step = torch.zeros_like(params)
        step[:, j] = h
        columns.append((SIM.marginals(template, params + step)
                        - SIM.marginals(template, params - step)) / (2 * h))
    return torch.stack(columns, dim=2)


def test_angle_algebra_values_and_chain_rule():
    a, b = Angle(0), Angle(1)
    angle = 2 * (math.pi - a) * (math.pi - b) + a * a / 4 - 0.5
    assert angle == Angle.poly({(): 2 * math.pi ** 2 - 0.5, (0,): -2 * math.pi,
                                (1,): -2 * math.pi, (0, 1): 2.0, (0, 0): 0.25})
    assert Angle(0, 2.0, 0.5) == 2 * a + 0.5 and Angle(0, 0.0, 1.0) == Angle.const(1.0)
    assert (a - a).is_const and angle.columns == (0, 1) and (2 * a + 1).affine == (0, 2.0)
    assert pickle.loads(pickle.dumps(angle)) == angle and copy.deepcopy(angle) == angle
    params = np.array([[0.3, -1.1], [2.0, 0.4]])
    x, y = params[:, 0], params[:, 1]
    np.testing.assert_allclose(angle.values(params),
                               2 * (math.pi - x) * (math.pi - y) + x * x / 4 - 0.5)
    np.testing.assert_allclose(angle.gradient(params, 2),
                               np.stack([-2 * (math.pi - y) + x / 2, -2 * (math.pi - x)], 1))
    tensor = torch.tensor(params, requires_grad=True)
    angle.values(tensor).sum().backward()
    np.testing.assert_allclose(tensor.grad.numpy(), angle.gradient(params, 2))
