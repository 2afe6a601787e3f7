"""CircuitTemplate <-> Qiskit QuantumCircuit, and CircuitTemplate -> Braket (Circuit, program text).

Qiskit: parameters are `qc.parameters` in order (Qiskit sorts them by name, vectors by index);
an angle may be a number or an affine ParameterExpression of one Parameter. Measurements and
barriers are read past (every qubit is measured anyway); `u` is read as u3.

Braket: inputs are named `p_<column>` whatever the template calls them (user names could clash
with the program's registers); controlled rotations become CNOTs and rotations; SX is Braket's V.
"""

from __future__ import annotations

import math

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
                "cz": "cz", "cx": "cnot", "swap": "swap", "p": "phaseshift"}
"""Template gate -> Braket gate; controlled rotations are decomposed (`braket_steps`): the
LocalSimulator of amazon-braket-default-simulator 1.41 returned wrong probabilities for some
`ctrl @` gates (one Qiskit and the template simulator agree on), and QPUs reject `ctrl @`."""

Affine = tuple[float, tuple[tuple[int, float], ...]]
"""offset + sum(coefficient * params[:, column]): a Braket angle may mix columns."""


def _affine(angle: Angle, factor: float = 1.0) -> Affine:
    if angle.column is None or angle.scale == 0.0:
        return factor * angle.offset, ()
    return factor * angle.offset, ((angle.column, factor * angle.scale),)


def _add(*terms: Affine) -> Affine:
    offset, coefficients = 0.0, {}
    for c, t in terms:
        offset += c
        for column, coefficient in t:
            coefficients[column] = coefficients.get(column, 0.0) + coefficient
    return offset, tuple((k, v) for k, v in coefficients.items() if v != 0.0)


def braket_steps(gate: Gate) -> list[tuple[str, tuple[int, ...], tuple[Affine, ...]]]:
    """The gate as native Braket gates (name, qubits, angles); CRX/CRY/CRZ/CU3 as CNOTs and
    single-qubit rotations (CU3 as Qiskit defines it)."""
    c, t = gate.qubits[0], gate.qubits[-1]
    half = [_affine(a, 0.5) for a in gate.angles]
    neg = [_affine(a, -0.5) for a in gate.angles]
    if gate.name in ("cry", "crz"):
        axis = gate.name[-1]
        return [(f"r{axis}", (t,), (half[0],)), ("cnot", (c, t), ()), (f"r{axis}", (t,), (neg[0],)),
                ("cnot", (c, t), ())]
    if gate.name == "crx":  # RX = RZ(-pi/2) RY RZ(pi/2)
        return [("rz", (t,), ((math.pi / 2, ()),)), *braket_steps(Gate("cry", gate.qubits, gate.angles)),
                ("rz", (t,), ((-math.pi / 2, ()),))]
    if gate.name == "cu3":
        theta, phi, lam = (_affine(a) for a in gate.angles)
        return [("phaseshift", (c,), (_add(half[2], half[1]),)),
                ("phaseshift", (t,), (_add(half[2], neg[1]),)), ("cnot", (c, t), ()),
                ("U", (t,), (neg[0], (0.0, ()), _add(neg[1], neg[2]))), ("cnot", (c, t), ()),
                ("U", (t,), (half[0], phi, (0.0, ())))]
    return [(BRAKET_NAMES[gate.name], gate.qubits, tuple(_affine(a) for a in gate.angles))]


def braket_input(column: int) -> str:
    return f"p_{column}"


def template_to_braket(template: CircuitTemplate, row: np.ndarray | None = None):
    """A Braket Circuit with FreeParameters p_<column>, or with the angles of one parameter row
    filled in; idle qubits get an identity so every qubit is in the circuit (and measured).

    Bind with `row`, not `Circuit.make_bound_circuit`: in amazon-braket-sdk 1.127 the latter
    drops the control qubits of controlled gates (the template has none left, but the rule holds).
    """
    from braket.circuits import Circuit, FreeParameter

    free = ([FreeParameter(braket_input(k)) for k in range(template.n_params)] if row is None
            else [float(v) for v in row])
    circuit = Circuit()
    for gate in template.gates:
        for name, qubits, angles in braket_steps(gate):
            method = {"U": "u"}.get(name, name)
            getattr(circuit, method)(*qubits, *(_braket_value(a, free) for a in angles))
    for q in sorted(set(range(template.n_qubits)) - {q for g in template.gates for q in g.qubits}):
        circuit.i(q)
    return circuit


def _braket_value(angle: Affine, free: list):
    offset, terms = angle
    value = offset
    for column, coefficient in terms:
        value = value + coefficient * free[column]
    return value


def braket_qasm(template: CircuitTemplate, noise=None) -> str:
    """The OpenQASM 3 program Braket runs: `input float p_<k>;`, native gates, noise pragmas (a
    GateNoise, braket_dm: after each template gate's native gates) and every qubit measured."""
    n = template.n_qubits
    lines = ["OPENQASM 3.0;", *(f"input float {braket_input(k)};" for k in template.used_columns),
             f"bit[{n}] b;", f"qubit[{n}] q;"]
    for gate in template.gates:
        for name, qubits, angles in braket_steps(gate):
            args = f"({', '.join(_affine_text(a) for a in angles)})" if angles else ""
            lines.append(f"{name}{args} {', '.join(f'q[{q}]' for q in qubits)};")
        lines += _noise_lines(gate, noise)
    if noise is not None and noise.readout > 0:
        lines += [f"#pragma braket noise bit_flip({noise.readout}) q[{q}]" for q in range(n)]
    lines += [f"b[{q}] = measure q[{q}];" for q in range(n)]
    return "\n".join(lines)


def _affine_text(angle: Affine) -> str:
    offset, terms = angle
    parts = [f"{coefficient!r}*{braket_input(column)}" for column, coefficient in terms]
    if offset != 0.0 or not parts:
        parts.append(repr(float(offset)))
    return " + ".join(parts).replace("+ -", "- ")


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
