"""CircuitTemplate -> Braket (Circuit, OpenQASM program text, input sets).

A gate goes over natively where the Braket SDK has it (`GateSpec.braket` in the gate table) and
is otherwise rewritten into table gates by `template_decompose.DECOMPOSITIONS` until every step
is native. Controlled rotations are decomposed, not sent as `ctrl @`: the LocalSimulator
of amazon-braket-default-simulator 1.41 returned wrong probabilities for some `ctrl @` gates (one
Qiskit and the embedded simulator agree on), and QPUs reject `ctrl @`.

Inputs are named `p_<column>` whatever the template calls them (user names could clash with the
program's registers); an angle may be any polynomial of them (Braket evaluates the expression).
"""

from __future__ import annotations

import numpy as np

from qhil.quantum.template_angle import Angle
from qhil.quantum.template_decompose import decompose
from qhil.quantum.template_gates import GATES
from qhil.quantum.template_parts import Gate, TemplateLike


def braket_steps(gate: Gate) -> list[tuple[str, tuple[int, ...], tuple[Angle, ...]]]:
    """The gate as native Braket gates: (Braket name, qubits, angles)."""
    return [(GATES[g.name].braket, g.qubits, g.angles) for g in decompose(gate, BRAKET_NATIVE)]


BRAKET_NATIVE = frozenset(name for name, spec in GATES.items() if spec.braket is not None)


def braket_input(column: int) -> str:
    return f"p_{column}"


def template_to_braket(template: TemplateLike, row: np.ndarray | None = None):
    """A Braket Circuit with FreeParameters p_<column>, or with the angles of one parameter row
    filled in; idle qubits get an identity so every qubit is in the circuit (and measured).

    Bind with `row`, not `Circuit.make_bound_circuit`: in amazon-braket-sdk 1.127 the latter
    drops the control qubits of controlled gates.
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


def _braket_value(angle: Angle, free: list):
    """The angle with column j replaced by free[j] (a FreeParameter or a number)."""
    value = angle.offset
    for monomial, coefficient in angle.terms:
        if monomial:
            term = coefficient if coefficient != 1 else None  # p_0, not 1.0*p_0 (as our QASM)
            for j in monomial:
                term = free[j] if term is None else term * free[j]
            value = term + value
    return value


def braket_qasm(template: TemplateLike, noise=None) -> str:
    """The OpenQASM 3 program Braket runs: `input float p_<k>;`, native gates, noise pragmas (a
    GateNoise, braket_dm: after each template gate's native gates) and every qubit measured."""
    n = template.n_qubits
    lines = ["OPENQASM 3.0;", *(f"input float {braket_input(k)};" for k in template.used_columns),
             f"bit[{n}] b;", f"qubit[{n}] q;"]
    for gate in template.gates:
        for name, qubits, angles in braket_steps(gate):
            args = f"({', '.join(a.text(braket_input) for a in angles)})" if angles else ""
            operands = f" {', '.join(f'q[{q}]' for q in qubits)}" if qubits else ""
            lines.append(f"{name}{args}{operands};")
        lines += _noise_lines(gate, noise)
    if noise is not None and noise.readout > 0:
        lines += [f"#pragma braket noise bit_flip({noise.readout}) q[{q}]" for q in range(n)]
    lines += [f"b[{q}] = measure q[{q}];" for q in range(n)]
    return "\n".join(lines)


def _noise_lines(gate: Gate, noise) -> list[str]:
    if noise is None:
        return []
    qubits = ", ".join(f"q[{q}]" for q in gate.qubits)
    if len(gate.qubits) == 1 and noise.gate_1q > 0:
        return [f"#pragma braket noise depolarizing({noise.gate_1q}) {qubits}"]
    if len(gate.qubits) == 2 and noise.gate_2q > 0:
        return [f"#pragma braket noise two_qubit_depolarizing({noise.gate_2q}) {qubits}"]
    return []


def braket_input_sets(template: TemplateLike, params: np.ndarray) -> list[dict[str, float]]:
    """(rows, P) parameters -> one {p_<k>: value} per row, for the columns the template reads."""
    cols = template.used_columns
    names = [braket_input(k) for k in cols]
    return [dict(zip(names, map(float, row), strict=True)) for row in params[:, list(cols)]]
