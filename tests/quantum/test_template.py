"""CircuitTemplate: the embedded simulator against Qiskit's Statevector, round trips, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import Operator, Statevector

from qhil.quantum.simulator import Simulator
from qhil.quantum.template import Angle, CircuitTemplate, CircuitTemplateError, Gate
from qhil.quantum.template_io import qiskit_values
from qhil.quantum.template_random import random_params, random_template

SIM = Simulator(precision="complex128")


def qiskit_marginals(template: CircuitTemplate, params: np.ndarray) -> np.ndarray:
    """(B, n) P(qubit j reads 1) from Qiskit's Statevector (qubit j = Qiskit qubit j)."""
    qc = template.to_qiskit(measure=False)
    values = qiskit_values(template, qc, params)
    n = template.n_qubits
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1  # Qiskit: qubit j = bit j
    return np.array([Statevector(qc.assign_parameters(v)).probabilities() @ bits for v in values])


def random_cases(count: int, seed: int = 2024):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        template = random_template(rng, int(rng.integers(2, 9)), int(rng.integers(5, 61)))
        yield template, random_params(rng, template, 2)


def test_qiskit_template_qiskit_round_trip_is_the_same_unitary():
    for template, params in random_cases(30, seed=7):
        qc = template.to_qiskit(measure=False)
        back = CircuitTemplate.from_qiskit(qc).to_qiskit(measure=False)
        def bound(c, t=template, v=params):
            return c.assign_parameters(qiskit_values(t, c, v)[0])

        assert Operator(bound(qc)).equiv(Operator(bound(back)))


def test_qasm_template_qasm_round_trip_is_the_same_text_and_template():
    for template, _ in random_cases(40, seed=9):
        text = template.to_qasm()
        again = CircuitTemplate.from_qasm(text)
        assert again == template and again.to_qasm() == text


def test_qiskit_circuit_with_parameter_vector_and_affine_angles():
    a, theta = Parameter("a"), ParameterVector("theta", 2)
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cry(2 * a + 0.5, 0, 2)
    qc.rz(-theta[1] / 2, 1)
    qc.u(theta[0], 0.1, a, 2)
    qc.measure_all()
    template = CircuitTemplate.from_qiskit(qc)
    assert template.param_names == ("a", "theta[0]", "theta[1]")
    assert template.gates[1] == Gate("cry", (0, 2), (Angle(0, 2.0, 0.5),))
    params = np.array([[0.3, -1.2, 2.0]])
    from_qasm = CircuitTemplate.from_qasm(qasm3.dumps(qc))  # Qiskit's own OpenQASM 3 export
    assert from_qasm == template
    np.testing.assert_allclose(SIM.marginals(template, torch.from_numpy(params)).numpy(),
                               qiskit_marginals(template, params), atol=1e-9)


def test_qiskit_angles_of_several_parameters_are_polynomials_and_others_are_refused():
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(1)
    qc.rx(2 * (np.pi - a) * (np.pi - b), 0)
    qc.rz(a + b / 2, 0)
    rx, rz = (g.angles[0] for g in CircuitTemplate.from_qiskit(qc).gates)
    assert rx == 2 * (np.pi - Angle(0)) * (np.pi - Angle(1)) and rz == Angle(0) + Angle(1) / 2
    for angle in (a.sin(), a / b):
        qc = QuantumCircuit(1)
        qc.rx(angle, 0)
        with pytest.raises(CircuitTemplateError, match="not a polynomial"):
            CircuitTemplate.from_qiskit(qc)


GOOD = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] w;
qubit[2] q;
bit[2] c;
ry(w) q[0];
cx q[0], q[1];
c = measure q;
"""


@pytest.mark.parametrize("line, replacement, message", [
    (6, "ry(w) q[0]", "line 6: syntax error"),                       # missing ';'
    (7, "foo q[0], q[1];", "line 7: unknown gate 'foo'"),
    (7, "ccx q[0], q[1], q[0];", "line 7: 'ccx' acts on qubits [0, 1, 0]"),
    (6, "ry(w, w) q[0];", "line 6: ry takes 1 qubit(s) and 1 angle(s)"),
    (6, "ry(v) q[0];", "line 6: unknown name 'v'"),
    (6, "ry(w / w) q[0];", "line 6: angle expression with '/' is not a polynomial"),
    (6, "reset q[0];", "line 6: reset is not supported"),
    (7, "if (c[0]) x q[1];", "line 7: classical control (if) is not supported"),
    (7, "ctrl @ x q[0], q[1];", "line 7: gate modifiers on 'x' are not supported"),
    (7, "cx q[0], q[3];", "line 7: qubit index [3] out of range"),
])
def test_qasm_mistakes_name_their_line(line, replacement, message):
    lines = GOOD.splitlines()
    lines[line - 1] = replacement
    with pytest.raises(CircuitTemplateError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]").replace("*", r"\*")) as info:
        CircuitTemplate.from_qasm("\n".join(lines), "my.qasm")
    assert str(info.value).startswith("my.qasm: line")


def test_template_validation_and_params_check():
    with pytest.raises(CircuitTemplateError, match="unknown gate"):
        CircuitTemplate(2, [Gate("rzzz", (0, 1), (Angle(0),))])
    with pytest.raises(CircuitTemplateError, match="distinct"):
        CircuitTemplate(2, [Gate("cx", (1, 1))])
    template = CircuitTemplate(2, [Gate("rx", (0,), (Angle(1),))])
    assert template.n_params == 2 and template.used_columns == (1,)
    with pytest.raises(CircuitTemplateError, match="takes 2 parameters"):
        template.check_params(np.zeros((4, 3)))


def test_hdqnn_template_gates_match_the_hdqnn_circuit():
    from qhil import HDQNNAnsatz
    from qhil.quantum.simulator import Simulator

    rng = np.random.default_rng(3)
    ansatz = HDQNNAnsatz(4, 3)
    controls = rng.uniform(0, 3, (6, ansatz.control_dim))
    angles, cz = ansatz.split(controls)
    hdqnn = Simulator(4, precision="complex128").marginals(torch.from_numpy(angles),
                                                                  torch.from_numpy(cz))
    for row in range(6):
        template = ansatz.template(cz[row])
        generic = CircuitTemplate(4, template.gates, template.n_params)  # no layout: generic kernel
        ours = SIM.marginals(generic, torch.from_numpy(angles[row].reshape(1, -1)))
        np.testing.assert_allclose(ours[0].numpy(), hdqnn[row].numpy(), atol=1e-10)


def test_qiskit_qasm3_dumps_of_cu_and_non_std_gates_reads_back():
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.cu(a, b, a * b, 0.3, 0, 1)
    qc.rzz(2 * (np.pi - a) * (np.pi - b), 1, 2)
    qc.append(qc.copy().to_gate(label="block"), [2, 0, 1])  # a user gate: defined, inlined
    template = CircuitTemplate.from_qasm(qasm3.dumps(qc))
    assert [g.name for g in template.gates][:5] == ["h", "h", "h", "cu", "rzz"]
    params = np.array([[0.4, -1.3]])
    np.testing.assert_allclose(SIM.marginals(template, torch.from_numpy(params)).numpy(),
                               qiskit_marginals(CircuitTemplate.from_qiskit(qc), params),
                               atol=1e-10)
