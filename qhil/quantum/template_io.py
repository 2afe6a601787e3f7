"""CircuitTemplate <-> Qiskit QuantumCircuit.

Read: parameters are `qc.parameters` in order (Qiskit sorts them by name, vectors by index); an
angle is a number or a ParameterExpression that is a polynomial in the parameters (sums, products,
constant multiples). Gates outside the table (Qiskit's class-style library circuits such as
`RealAmplitudes(...)`, `ZZFeatureMap(...)`, `PauliEvolutionGate`, user gates) are decomposed by
Qiskit until only table gates remain; the circuit's global phase becomes a `gphase` gate.
Barriers, delays and final measurements are read past; reset, mid-circuit measurement and
classical control are refused with one line naming the instruction.

Write: one Parameter per column (named as the template's), every gate by its Qiskit class; a
`gphase` gate adds to the circuit's `global_phase` (Qiskit 2.6's qasm3.dumps writes a
GlobalPhaseGate as a qubit-less `gate` definition no OpenQASM 3 parser accepts).
"""

from __future__ import annotations

import ast
import math
import operator
import re

import numpy as np

from qhil.quantum.template_angle import Angle
from qhil.quantum.template_gates import GATES, canonical_name
from qhil.quantum.template_parts import CircuitTemplateError, Gate, TemplateLike

QISKIT_SKIPPED = {"barrier", "delay"}
CLASSICAL = {"if_else", "while_loop", "for_loop", "switch_case", "box", "store"}
DECOMPOSE_ROUNDS = 10


# --- Qiskit -> template -------------------------------------------------------------------

def template_from_qiskit(qc, cls: type[TemplateLike]) -> TemplateLike:
    """The template (of class `cls`) of a QuantumCircuit; its Parameters become columns in
    qc.parameters order."""
    qc = standard_gates(qc)
    columns = {p.name: k for k, p in enumerate(qc.parameters)}
    gates, measured = _global_phase(qc, columns), set()
    for index, item in enumerate(qc.data):
        op, where = item.operation, f"instruction {index} ({item.operation.name})"
        qubits = tuple(qc.find_bit(q).index for q in item.qubits)
        if _read_past(op, qubits, measured, where):
            continue
        angles = tuple(qiskit_angle(v, columns, where) for v in op.params)
        gates.append(Gate(canonical_name(op.name), qubits, angles))
    return cls(qc.num_qubits, gates, n_params=len(columns),
                           param_names=list(columns), name=qc.name or "qiskit")


def standard_gates(qc):
    """The circuit with every instruction outside the table decomposed by Qiskit (library blocks,
    evolution gates, user gates), at most DECOMPOSE_ROUNDS levels deep."""
    for _ in range(DECOMPOSE_ROUNDS):
        names = {i.operation.name for i in qc.data if _decomposable(i.operation)}
        if not names:
            return qc
        qc = qc.decompose(gates_to_decompose=sorted(names))
    return qc


def _decomposable(op) -> bool:
    name = op.name
    return (canonical_name(name) not in GATES and name not in QISKIT_SKIPPED | CLASSICAL
            and name not in ("measure", "reset") and getattr(op, "definition", None) is not None)


def _read_past(op, qubits: tuple[int, ...], measured: set, where: str) -> bool:
    """True for instructions a template reads past; raise for those it cannot hold."""
    if op.name in QISKIT_SKIPPED:
        return True
    if op.name == "measure":
        measured.update(qubits)
        return True
    if op.name == "reset":
        raise CircuitTemplateError(f"{where}: reset is not supported; a template starts in |0> "
                                   f"and measures every qubit once, at the end")
    if op.name in CLASSICAL or getattr(op, "condition", None) is not None:
        raise CircuitTemplateError(f"{where}: classical control is not supported; a template is "
                                   f"a unitary circuit measured once, at the end")
    if measured & set(qubits):
        raise CircuitTemplateError(f"{where} acts after a measurement of its qubit (mid-circuit "
                                   f"measurement); a template measures every qubit once, at the end")
    if canonical_name(op.name) not in GATES:
        raise CircuitTemplateError(f"unknown gate '{op.name}' at {where}; supported: "
                                   f"{', '.join(GATES)} (or gates Qiskit can decompose to them)")
    return False


def _global_phase(qc, columns: dict[str, int]) -> list[Gate]:
    phase = qc.global_phase
    angle = qiskit_angle(phase, columns, "the global phase")
    return [] if angle == Angle.const(0.0) else [Gate("gphase", (), (angle,))]


def qiskit_angle(value, columns: dict[str, int], where: str) -> Angle:
    """A gate parameter (number or ParameterExpression) as an Angle over `columns` (name -> k)."""
    from qiskit.circuit import Parameter, ParameterExpression

    if isinstance(value, Parameter):
        return Angle(columns[value.name])
    if not isinstance(value, ParameterExpression) or not value.parameters:
        return Angle.const(float(value))
    names = sorted((p.name for p in value.parameters), key=len, reverse=True)
    try:
        return _polynomial(str(value), names, columns)
    except (ValueError, SyntaxError) as exc:
        raise CircuitTemplateError(f"an angle of {where} ({value}) is not a polynomial in its "
                                   f"parameters ({exc}); templates take sums, products and "
                                   f"constant multiples of parameters") from None


def _polynomial(text: str, names: list[str], columns: dict[str, int]) -> Angle:
    """Qiskit's text of an expression, read as Python arithmetic with each parameter name made
    an identifier (`x[0]` -> `_p3`), as an Angle; ValueError for anything but + - * / **."""
    for name in names:
        text = re.sub(rf"(?<![\w\[\]]){re.escape(name)}(?![\w\[\]])", f"_p{columns[name]}",
                      text)
    return _node_angle(ast.parse(text, mode="eval").body)


OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
             ast.Div: operator.truediv, ast.Pow: operator.pow}


def _node_angle(node) -> Angle:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return Angle.const(float(node.value))
    if isinstance(node, ast.Name) and node.id.startswith("_p"):
        return Angle(int(node.id[2:]))
    if isinstance(node, ast.Name) and node.id == "pi":
        return Angle.const(math.pi)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _node_angle(node.operand)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        return OPERATORS[type(node.op)](_node_angle(node.left), _node_angle(node.right))
    raise ValueError(f"'{ast.unparse(node)}' is not + - * / ** of numbers and parameters")


# --- template -> Qiskit -------------------------------------------------------------------

CIRCUIT_METHODS = frozenset({"rx", "ry", "rz", "cz", "cx", "h", "x", "p"})
"""Gates QuantumCircuit appends by its own method of the same name and arguments (angles, then
qubits): Qiskit's fast path for standard gates, 3x faster than appending gate objects."""


def template_to_qiskit(template: TemplateLike, measure: bool = True,
                       row: np.ndarray | None = None):
    """A QuantumCircuit with one Parameter per column (named as the template's), or with the
    angles of one parameter row filled in; with `measure`, qubit j is measured into classical
    bit n-1-j of register "meas" (see qiskit_circuits)."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.circuit import Parameter
    from qiskit.circuit import library as lib

    n = template.n_qubits
    params = [Parameter(name) for name in template.param_names] if row is None else None
    qc = QuantumCircuit(QuantumRegister(n, "q"), name=template.name)
    for gate in template.gates:
        values = ([qiskit_value(a, params) for a in gate.angles] if row is None
                  else [float(a.values(np.asarray(row, dtype=float)[None])[0]) for a in gate.angles])
        if gate.name == "gphase":  # the circuit's phase: Qiskit's exporters mishandle the gate
            qc.global_phase += values[0]
        elif gate.name in CIRCUIT_METHODS:
            getattr(qc, gate.name)(*values, *gate.qubits)
        else:
            qc.append(getattr(lib, GATES[gate.name].qiskit)(*values), list(gate.qubits),
                      copy=False)  # a fresh gate: no copy of it (a third of the build)
    if measure:
        creg = ClassicalRegister(n, "meas")
        qc.add_register(creg)
        qc.measure(list(range(n)), [creg[n - 1 - j] for j in range(n)])
    return qc


def qiskit_value(angle: Angle, params: list):
    """The angle as a float or a ParameterExpression of `params` (one per column)."""
    value = None
    for monomial, coefficient in angle.terms:
        term = coefficient
        for k, j in enumerate(monomial):
            term = params[j] if k == 0 and coefficient == 1.0 else term * params[j]
        value = term if value is None else value + term
    return 0.0 if value is None else value


def qiskit_values(template: TemplateLike, circuit, params: np.ndarray) -> np.ndarray:
    """(rows, P) template parameters -> the circuit's parameter values, in circuit.parameters
    order (Qiskit drops unused parameters and sorts the rest by name)."""
    column = {name: k for k, name in enumerate(template.param_names)}
    order = [column[p.name] for p in circuit.parameters]
    return np.ascontiguousarray(params[:, order])
