"""CircuitTemplate <-> Qiskit QuantumCircuit, and CircuitTemplate -> Braket (Circuit, program text).

Qiskit: parameters are `qc.parameters` in order (Qiskit sorts them by name, vectors by index);
an angle may be a number or an affine ParameterExpression of one Parameter. Measurements and
barriers are read past (every qubit is measured anyway); `u` is read as u3.

Braket: inputs are named `p_<column>` whatever the template calls them (user names could clash
with the program's registers); controlled gates are `ctrl @` modifiers; SX is Braket's V.
"""

from __future__ import annotations

import numpy as np

from qhil.quantum.template import (
    GATES,
    Angle,
    CircuitTemplate,
    CircuitTemplateError,
    Gate,
)

QISKIT_ALIASES = {"u": "u3"}
QISKIT_SKIPPED = {"measure", "barrier", "id", "delay"}


# --- Qiskit -------------------------------------------------------------------------------

def template_from_qiskit(qc) -> CircuitTemplate:
    """The template of a QuantumCircuit; its Parameters become columns in qc.parameters order."""
    columns = {p: k for k, p in enumerate(qc.parameters)}
    gates = []
    for index, item in enumerate(qc.data):
        op = item.operation
        if op.name in QISKIT_SKIPPED:
            continue
        name = QISKIT_ALIASES.get(op.name, op.name)
        where = f"instruction {index} ({op.name})"
        if name not in GATES:
            raise CircuitTemplateError(
                f"unknown gate '{op.name}' at {where}; supported: {', '.join(GATES)} "
                f"(transpile the circuit to these first)")
        qubits = tuple(qc.find_bit(q).index for q in item.qubits)
        gates.append(Gate(name, qubits, tuple(_qiskit_angle(v, columns, where) for v in op.params)))
    return CircuitTemplate(qc.num_qubits, gates, n_params=len(columns),
                           param_names=[p.name for p in columns], name=qc.name or "qiskit")


def _qiskit_angle(value, columns: dict, where: str) -> Angle:
    from qiskit.circuit import ParameterExpression

    if not isinstance(value, ParameterExpression):
        return Angle.const(float(value))
    params = list(value.parameters)
    if not params:
        return Angle.const(float(value))
    if len(params) > 1:
        raise CircuitTemplateError(f"an angle of {where} depends on {len(params)} parameters; "
                                   f"a template angle is affine in one")
    p = params[0]
    offset = float(value.bind({p: 0.0}))
    scale = float(value.bind({p: 1.0})) - offset
    if abs(float(value.bind({p: 2.5})) - (offset + 2.5 * scale)) > 1e-9 * max(1.0, abs(scale)):
        raise CircuitTemplateError(f"an angle of {where} ({value}) is not affine in {p.name}")
    return Angle(columns[p], scale, offset)


def template_to_qiskit(template: CircuitTemplate, measure: bool = True):
    """A QuantumCircuit with one Parameter per column (named as the template's); with `measure`,
    qubit j is measured into classical bit n-1-j of register "meas" (see qiskit_circuits)."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.circuit import Parameter

    n = template.n_qubits
    params = [Parameter(name) for name in template.param_names]
    qc = QuantumCircuit(QuantumRegister(n, "q"), name=template.name)
    for gate in template.gates:
        qc.append(_qiskit_gate(gate, params), list(gate.qubits))
    if measure:
        creg = ClassicalRegister(n, "meas")
        qc.add_register(creg)
        qc.measure(list(range(n)), [creg[n - 1 - j] for j in range(n)])
    return qc


def _qiskit_gate(gate: Gate, params: list):
    from qiskit.circuit import library as lib

    classes = {"rx": lib.RXGate, "ry": lib.RYGate, "rz": lib.RZGate, "u3": lib.U3Gate,
               "h": lib.HGate, "x": lib.XGate, "sx": lib.SXGate, "cz": lib.CZGate,
               "cx": lib.CXGate, "swap": lib.SwapGate, "crx": lib.CRXGate, "cry": lib.CRYGate,
               "crz": lib.CRZGate, "cu3": lib.CU3Gate}
    return classes[gate.name](*(_qiskit_value(a, params) for a in gate.angles))


def _qiskit_value(angle: Angle, params: list):
    if angle.column is None:
        return angle.offset
    p = params[angle.column]
    scaled = p if angle.scale == 1.0 else angle.scale * p
    return scaled if angle.offset == 0.0 else scaled + angle.offset


def qiskit_values(template: CircuitTemplate, circuit, params: np.ndarray) -> np.ndarray:
    """(rows, P) template parameters -> the circuit's parameter values, in circuit.parameters
    order (Qiskit drops unused parameters and sorts the rest by name)."""
    column = {name: k for k, name in enumerate(template.param_names)}
    order = [column[p.name] for p in circuit.parameters]
    return np.ascontiguousarray(params[:, order])


# --- Braket -------------------------------------------------------------------------------

BRAKET_NAMES = {"rx": "rx", "ry": "ry", "rz": "rz", "u3": "U", "h": "h", "x": "x", "sx": "v",
                "cz": "cz", "cx": "cnot", "swap": "swap", "crx": "rx", "cry": "ry", "crz": "rz",
                "cu3": "U"}
CONTROLLED = {"crx", "cry", "crz", "cu3"}


def braket_input(column: int) -> str:
    return f"p_{column}"


def template_to_braket(template: CircuitTemplate):
    """A Braket Circuit with FreeParameters p_<column>; idle qubits get an identity so every
    qubit is in the circuit (and measured)."""
    from braket.circuits import Circuit, FreeParameter

    free = [FreeParameter(braket_input(k)) for k in range(template.n_params)]
    circuit = Circuit()
    for gate in template.gates:
        _braket_gate(circuit, gate, free)
    for q in sorted(set(range(template.n_qubits)) - {q for g in template.gates for q in g.qubits}):
        circuit.i(q)
    return circuit


def _braket_gate(circuit, gate: Gate, free: list) -> None:
    method = {"U": "u", "cnot": "cnot", "v": "v"}.get(BRAKET_NAMES[gate.name], BRAKET_NAMES[gate.name])
    angles = [_braket_value(a, free) for a in gate.angles]
    if gate.name in CONTROLLED:
        getattr(circuit, method)(gate.qubits[1], *angles, control=gate.qubits[0])
    else:
        getattr(circuit, method)(*gate.qubits, *angles)


def _braket_value(angle: Angle, free: list):
    if angle.column is None:
        return angle.offset
    return angle.scale * free[angle.column] + angle.offset


def braket_qasm(template: CircuitTemplate, noise=None) -> str:
    """The OpenQASM 3 program Braket runs: `input float p_<k>;`, the gates, noise pragmas (a
    GateNoise, braket_dm) and every qubit measured into b[q]."""
    n = template.n_qubits
    lines = ["OPENQASM 3.0;", *(f"input float {braket_input(k)};" for k in template.used_columns),
             f"bit[{n}] b;", f"qubit[{n}] q;"]
    for gate in template.gates:
        lines.append(_braket_line(gate))
        lines += _noise_lines(gate, noise)
    if noise is not None and noise.readout > 0:
        lines += [f"#pragma braket noise bit_flip({noise.readout}) q[{q}]" for q in range(n)]
    lines += [f"b[{q}] = measure q[{q}];" for q in range(n)]
    return "\n".join(lines)


def _braket_line(gate: Gate) -> str:
    name = BRAKET_NAMES[gate.name]
    args = f"({', '.join(_qasm_angle(a, braket_input) for a in gate.angles)})" if gate.angles else ""
    prefix = "ctrl @ " if gate.name in CONTROLLED else ""
    return f"{prefix}{name}{args} {', '.join(f'q[{q}]' for q in gate.qubits)};"


def _noise_lines(gate: Gate, noise) -> list[str]:
    if noise is None:
        return []
    qubits = ", ".join(f"q[{q}]" for q in gate.qubits)
    if len(gate.qubits) == 1 and noise.gate_1q > 0:
        return [f"#pragma braket noise depolarizing({noise.gate_1q}) {qubits}"]
    if len(gate.qubits) == 2 and noise.gate_2q > 0:
        return [f"#pragma braket noise two_qubit_depolarizing({noise.gate_2q}) {qubits}"]
    return []


def braket_input_sets(template: CircuitTemplate, params: np.ndarray) -> list[dict[str, float]]:
    """(rows, P) parameters -> one {p_<k>: value} per row, for the columns the template reads."""
    cols = template.used_columns
    names = [braket_input(k) for k in cols]
    return [dict(zip(names, map(float, row), strict=True)) for row in params[:, list(cols)]]


def _qasm_angle(angle: Angle, name_of) -> str:
    """An angle as OpenQASM text: a number, `name`, `s*name`, `s*name + o`."""
    if angle.column is None:
        return repr(float(angle.offset))
    term = name_of(angle.column) if angle.scale == 1.0 else f"{angle.scale!r}*{name_of(angle.column)}"
    if angle.offset == 0.0:
        return term
    sign = "+" if angle.offset > 0 else "-"
    return f"{term} {sign} {abs(angle.offset)!r}"
