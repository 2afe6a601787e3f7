"""CircuitTemplate: any parameterised circuit qhil can sample, batched over parameter rows.

A template is n qubits and an ordered gate list over the gate set `GATES` (every gate of
OpenQASM 3's stdgates.inc and Qiskit's standard parameterised gates; see template_gates.py);
each gate angle is an `Angle`: a polynomial in the per-sample parameter columns (sums, products
and constant multiples of several parameters; see template_angle.py). Every qubit is measured
at the end; the result of a row is P(qubit j reads 1), (n,).

    template = CircuitTemplate.from_qiskit(qc)          # parameters in qc.parameters order
    template = CircuitTemplate.from_qasm(text)          # OpenQASM 3, `input float[64]` parameters
    template.to_qiskit(), template.to_qasm(), template.to_braket()   # (row=...: bound)
    CircuitTemplate.from_hdqnn(n_qubits, cz)            # one hDQNN CZ structure (see HDQNNAnsatz)

Gate conventions are Qiskit's (RZ(t) = diag(e^{-it/2}, e^{it/2}), U3 and CU3 as Qiskit defines
them, controlled gates control first); a gate's matrix reads its first qubit as the high bit,
and qubit 0 is the most significant bit of a basis index.

hDQNN templates (`from_hdqnn`) carry their layout, so the `local` provider recognises them
without looking at the gates, and the simulator runs them with its structured strategy
(`hdqnn_layout`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from qhil.errors import RequestValidationError
from qhil.quantum.template_angle import Angle
from qhil.quantum.template_gates import GATES, ShiftRule

__all__ = ["GATES", "Angle", "CircuitTemplate", "CircuitTemplateError", "Gate", "Occurrence",
           "check_gate", "expand_occurrences", "occurrence_values", "occurrence_gradients"]

class CircuitTemplateError(RequestValidationError):
    """A template that is malformed (unknown gate, bad qubit, parameter count); `line` is the
    line of the source file it came from, where known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Gate:
    """One gate: its name in GATES, the qubits it acts on (control first) and its angles."""

    name: str
    qubits: tuple[int, ...]
    angles: tuple[Angle, ...] = ()


@dataclass(frozen=True)
class HDQNNLayout:
    """An hDQNN structure: per layer RX then RY on every qubit, then CZ pairs `cz` (L, P, 2).
    Parameter columns are in (layer, qubit, RX/RY) order: L * n * 2 of them."""

    n_qubits: int
    cz: np.ndarray

    @property
    def n_layers(self) -> int:
        return self.cz.shape[0]


class CircuitTemplate:
    """n qubits, a gate list, P parameter columns; validated on construction.

    Args:
        n_qubits: register width (every qubit is measured).
        gates: the gates in time order.
        n_params: parameter columns P; default: one more than the highest column used.
        param_names: a name per column (QASM inputs, Qiskit parameters); default p0, p1, ...
        name: a label for messages and circuit names.
    """

    def __init__(self, n_qubits: int, gates: list[Gate] | tuple[Gate, ...],
                 n_params: int | None = None, param_names: list[str] | None = None,
                 name: str = "template"):
        self._gates = tuple(gates)
        used = [j for g in self._gates for a in g.angles for j in a.columns]
        self._init(n_qubits, n_params if n_params is not None else max(used, default=-1) + 1,
                   param_names, name, None)
        for index, gate in enumerate(self._gates):
            check_gate(gate, n_qubits, self.n_params, f"gate {index} ({gate.name})")

    def _init(self, n_qubits: int, n_params: int, param_names: list[str] | None, name: str,
              layout: HDQNNLayout | None) -> None:
        if n_qubits < 1:
            raise CircuitTemplateError(f"a template needs at least 1 qubit, got {n_qubits}")
        self.n_qubits, self.n_params, self.name = int(n_qubits), int(n_params), name
        self._names = tuple(param_names) if param_names else None
        if self._names is not None and len(self._names) != self.n_params:
            raise CircuitTemplateError(
                f"{len(self._names)} parameter names for {self.n_params} parameters")
        self._layout = layout
        self.input_lines: tuple[int | None, ...] = ()
        """Where read from OpenQASM: the line declaring each parameter (for messages)."""

    @classmethod
    def from_hdqnn(cls, n_qubits: int, cz: np.ndarray, name: str = "hdqnn",
                   check: bool = True) -> CircuitTemplate:
        """The template of one hDQNN CZ structure cz (L, P, 2); gates are built when first read.
        `check=False` skips the index check (for callers whose indices are already clamped)."""
        cz = np.ascontiguousarray(cz, dtype=np.int64)
        if check and (cz.ndim != 3 or cz.shape[-1] != 2
                      or cz.size and (cz.min() < 0 or cz.max() >= n_qubits)):
            raise CircuitTemplateError(f"cz must be (L, P, 2) indices in 0..{n_qubits - 1}")
        template = cls.__new__(cls)
        template._init(n_qubits, cz.shape[0] * n_qubits * 2, None, name, HDQNNLayout(n_qubits, cz))
        return template

    @property
    def param_names(self) -> tuple[str, ...]:
        """A name per parameter column (QASM inputs, Qiskit parameters); default p0, p1, ..."""
        if self._names is None:
            self._names = tuple(f"p{k}" for k in range(self.n_params))
        return self._names

    @property
    def gates(self) -> tuple[Gate, ...]:
        if not hasattr(self, "_gates"):
            self._gates = tuple(hdqnn_gates(self._layout))
        return self._gates

    @property
    def hdqnn_layout(self) -> HDQNNLayout | None:
        """The hDQNN layout when built by `from_hdqnn` (the local fast path), else None."""
        return self._layout

    @cached_property
    def key(self) -> bytes:
        """Digest of the structure (qubits, gates, parameter count); equal templates, equal keys."""
        h = hashlib.sha256(repr((self.n_qubits, self.n_params)).encode())
        if self._layout is not None:
            h.update(b"hdqnn" + self._layout.cz.tobytes() + repr(self._layout.cz.shape).encode())
        else:
            h.update(repr(self.gates).encode())
        return h.digest()

    @cached_property
    def used_columns(self) -> tuple[int, ...]:
        """Parameter columns some gate reads, ascending."""
        return tuple(sorted({j for g in self.gates for a in g.angles for j in a.columns}))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CircuitTemplate) and self.n_qubits == other.n_qubits
                and self.n_params == other.n_params and self.gates == other.gates)

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return (f"CircuitTemplate({self.name!r}, {self.n_qubits} qubits, {len(self.gates)} gates, "
                f"{self.n_params} parameters)")

    def check_params(self, params: np.ndarray) -> np.ndarray:
        """params as (B, P) float64, or CircuitTemplateError naming what is wrong."""
        p = np.asarray(params, dtype=np.float64)
        if p.ndim == 1 and self.n_params > 0 and p.shape[0] == self.n_params:
            p = p[None, :]
        if p.ndim != 2 or p.shape[1] != self.n_params:
            raise CircuitTemplateError(
                f"{self.name} takes {self.n_params} parameters per row; got an array of shape "
                f"{p.shape} (expected (B, {self.n_params}))")
        if not np.isfinite(p).all():
            raise CircuitTemplateError("parameters must be finite (found NaN or inf)")
        return p

    def depth(self) -> tuple[int, int]:
        """(moments, two-qubit moments) of an as-soon-as-possible schedule of the gates."""
        ready = [0] * self.n_qubits
        two = [0] * self.n_qubits
        for gate in (g for g in self.gates if g.qubits):  # a global phase takes no time
            start = max(ready[q] for q in gate.qubits) + 1
            twos = max(two[q] for q in gate.qubits) + (len(gate.qubits) >= 2)
            for q in gate.qubits:
                ready[q], two[q] = start, twos
        return max(ready, default=0), max(two, default=0)

    # --- conversions (their code lives in template_io.py) ----------------------------------

    @classmethod
    def from_qiskit(cls, circuit) -> CircuitTemplate:
        from qhil.quantum.template_io import template_from_qiskit
        return template_from_qiskit(circuit)

    @classmethod
    def from_qasm(cls, text: str, source: str = "<qasm>") -> CircuitTemplate:
        from qhil.quantum.template_qasm import template_from_qasm
        return template_from_qasm(text, source)

    def to_qiskit(self, measure: bool = True, row: np.ndarray | None = None):
        """A QuantumCircuit (Parameters named as the template's), or bound to one parameter row."""
        from qhil.quantum.template_io import template_to_qiskit
        return template_to_qiskit(self, measure, row)

    def to_qasm(self) -> str:
        from qhil.quantum.template_qasm import template_to_qasm
        return template_to_qasm(self)

    def to_braket(self, row: np.ndarray | None = None):
        """A Braket Circuit (FreeParameters p_<column>), or bound to one parameter row."""
        from qhil.quantum.template_braket import template_to_braket
        return template_to_braket(self, row)


def check_gate(gate: Gate, n_qubits: int, n_params: int, where: str,
               line: int | None = None) -> None:
    """Raise CircuitTemplateError if the gate is unknown or does not fit the register."""
    if gate.name not in GATES:
        raise CircuitTemplateError(
            f"unknown gate '{gate.name}' in {where}; supported: {', '.join(GATES)}", line)
    arity, n_angles = GATES[gate.name].qubits, GATES[gate.name].angles
    if len(gate.qubits) != arity or len(gate.angles) != n_angles:
        raise CircuitTemplateError(
            f"{gate.name} takes {arity} qubit(s) and {n_angles} angle(s); {where} has "
            f"{len(gate.qubits)} and {len(gate.angles)}", line)
    if len(set(gate.qubits)) != arity or any(not 0 <= q < n_qubits for q in gate.qubits):
        raise CircuitTemplateError(
            f"{where} acts on qubits {list(gate.qubits)}; they must be distinct and in "
            f"0..{n_qubits - 1}", line)
    for column in (j for angle in gate.angles for j in angle.columns):
        if not 0 <= column < n_params:
            raise CircuitTemplateError(
                f"{where} reads parameter {column}; the template has {n_params}", line)


class Occurrence(NamedTuple):
    """One parameterised angle of a template: its expression and its gate's shift rule."""

    angle: Angle
    rule: ShiftRule


def expand_occurrences(template: CircuitTemplate) -> tuple[CircuitTemplate, list[Occurrence]]:
    """The template with each parameterised angle reading its own column, and per such column
    the Occurrence the shift rule differentiates (chain rule: d angle / d params)."""
    gates, occurrences = [], []
    for gate in template.gates:
        angles = []
        for angle, rule in zip(gate.angles, GATES[gate.name].shifts, strict=True):
            if angle.is_const:
                angles.append(angle)
                continue
            angles.append(Angle(len(occurrences)))
            occurrences.append(Occurrence(angle, rule))
        gates.append(Gate(gate.name, gate.qubits, tuple(angles)))
    return CircuitTemplate(template.n_qubits, gates, n_params=len(occurrences),
                           name=f"{template.name}-shifted"), occurrences


def occurrence_values(occurrences: list[Occurrence], params):
    """(rows, occurrences) angle values of `expand_occurrences`' template for params (rows, P),
    numpy or torch as given."""
    if not occurrences:
        return params[:, :0] * 0.0
    stack = np.stack if isinstance(params, np.ndarray) else _torch_stack
    return stack([o.angle.values(params) for o in occurrences], 1)


def occurrence_gradients(occurrences: list[Occurrence], params):
    """(rows, occurrences, P) d angle / d params of each occurrence, per row (numpy or torch)."""
    if not occurrences:
        shape = (params.shape[0], 0, params.shape[1])
        return np.zeros(shape) if isinstance(params, np.ndarray) else params.new_zeros(shape)
    stack = np.stack if isinstance(params, np.ndarray) else _torch_stack
    return stack([o.angle.gradient(params, params.shape[1]) for o in occurrences], 1)


def _torch_stack(tensors, dim):
    import torch

    return torch.stack(tensors, dim=dim)


def hdqnn_gates(layout: HDQNNLayout) -> list[Gate]:
    """The gate list of an hDQNN structure; (i, i) CZ pairs are no gate."""
    n, gates = layout.n_qubits, []
    for layer, pairs in enumerate(layout.cz):
        base = layer * n * 2
        for q in range(n):
            gates.append(Gate("rx", (q,), (Angle(base + 2 * q),)))
            gates.append(Gate("ry", (q,), (Angle(base + 2 * q + 1),)))
        gates += [Gate("cz", (int(i), int(k))) for i, k in pairs if i != k]
    return gates
