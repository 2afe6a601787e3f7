"""CircuitTemplate <-> Qiskit QuantumCircuit.

Read: parameters are `qc.parameters` in order (Qiskit sorts them by name, vectors by index); an
angle is a number or a ParameterExpression that is a polynomial in the parameters (sums, products,
constant multiples). Gates outside the table (Qiskit's class-style library circuits such as
`RealAmplitudes(...)`, `ZZFeatureMap(...)`, `PauliEvolutionGate`, user gates) are decomposed by
Qiskit until only table gates remain; the circuit's global phase becomes a `gphase` gate.
Barriers, delays and final measurements are read past; reset, mid-circuit measurement and
classical control are refused with one line naming the instruction.

Write: one Parameter per column (named as the template's), every gate by its Qiskit class.
"""

from __future__ import annotations

import numpy as np

from qhil.quantum.template import GATES, Angle, CircuitTemplate, CircuitTemplateError, Gate
from qhil.quantum.template_gates import canonical_name

QISKIT_SKIPPED = {"barrier", "delay"}
CLASSICAL = {"if_else", "while_loop", "for_loop", "switch_case", "box", "store"}
DECOMPOSE_ROUNDS = 10


# --- Qiskit -> template -------------------------------------------------------------------

def template_from_qiskit(qc) -> CircuitTemplate:
    """The template of a QuantumCircuit; its Parameters become columns in qc.parameters order."""
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
    return CircuitTemplate(qc.num_qubits, gates, n_params=len(columns),
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
    try:
        terms = _polynomial(value)
    except (ValueError, TypeError) as exc:
        raise CircuitTemplateError(f"an angle of {where} ({value}) is not a polynomial in its "
                                   f"parameters ({exc}); templates take sums, products and "
                                   f"constant multiples of parameters") from None
    return Angle.poly({tuple(columns[n] for n in names): c for names, c in terms})


_POLYNOMIALS: dict[tuple[str, tuple[str, ...]], tuple] = {}
"""Polynomials already read, by (expression text, parameter names): circuits repeat angles."""


def _polynomial(value) -> tuple:
    """((parameter names of a monomial, coefficient), ...) of a ParameterExpression; ValueError
    if it is not a polynomial with real coefficients."""
    key = (str(value), tuple(sorted(p.name for p in value.parameters)))
    if key not in _POLYNOMIALS:
        _POLYNOMIALS[key] = _sympy_terms(value.sympify())
    return _POLYNOMIALS[key]


def _sympy_terms(expr) -> tuple:
    import sympy

    symbols = sorted(expr.free_symbols, key=str)
    try:
        poly = sympy.Poly(expr, *symbols)
    except sympy.PolynomialError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    out = []
    for powers, coefficient in poly.terms():
        value = complex(coefficient)
        if value.imag != 0:
            raise ValueError(f"complex coefficient {coefficient}")
        monomial = tuple(str(s) for s, k in zip(symbols, powers, strict=True) for _ in range(k))
        out.append((monomial, value.real))
    return tuple(out)


# --- template -> Qiskit -------------------------------------------------------------------

def template_to_qiskit(template: CircuitTemplate, measure: bool = True):
    """A QuantumCircuit with one Parameter per column (named as the template's); with `measure`,
    qubit j is measured into classical bit n-1-j of register "meas" (see qiskit_circuits)."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.circuit import Parameter
    from qiskit.circuit import library as lib

    n = template.n_qubits
    params = [Parameter(name) for name in template.param_names]
    qc = QuantumCircuit(QuantumRegister(n, "q"), name=template.name)
    for gate in template.gates:
        values = [qiskit_value(a, params) for a in gate.angles]
        qc.append(getattr(lib, GATES[gate.name].qiskit)(*values), list(gate.qubits))
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


def qiskit_values(template: CircuitTemplate, circuit, params: np.ndarray) -> np.ndarray:
    """(rows, P) template parameters -> the circuit's parameter values, in circuit.parameters
    order (Qiskit drops unused parameters and sorts the rest by name)."""
    column = {name: k for k, name in enumerate(template.param_names)}
    order = [column[p.name] for p in circuit.parameters]
    return np.ascontiguousarray(params[:, order])
