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

import gc
import hashlib
from contextlib import contextmanager
from functools import cached_property, lru_cache
from typing import NamedTuple

import numpy as np

from qhil.quantum.template_angle import Angle
from qhil.quantum.template_gates import GATES, ShiftRule
from qhil.quantum.template_parts import CircuitTemplateError, Gate, HDQNNLayout, check_gate

__all__ = ["GATES", "Angle", "CircuitTemplate", "CircuitTemplateError", "Gate", "Occurrence",
           "check_gate", "expand_occurrences", "occurrence_values", "occurrence_gradients"]

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

    @classmethod
    def from_hdqnn_table(cls, n_qubits: int, table: np.ndarray) -> list[CircuitTemplate]:
        """`from_hdqnn(n_qubits, table[t], check=False)` for every structure of a checked
        (T, L, P, 2) int64 table, built in bulk (a request of 65,536 distinct rows builds 65,536):
        each is a copy of the first one's fresh attributes with its own layout. The cyclic
        garbage collector is paused meanwhile (its passes over the growing list took 4/5 of it)."""
        table = np.ascontiguousarray(table, dtype=np.int64)
        fresh = vars(cls.from_hdqnn(n_qubits, table[0], check=False))
        n, out = fresh["n_qubits"], []
        with _gc_paused():
            for cz in list(table):
                template = object.__new__(cls)
                template.__dict__ = {**fresh, "_layout": HDQNNLayout(n, cz)}
                out.append(template)
        return out

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
        return template_from_qiskit(circuit, cls)

    @classmethod
    def from_qasm(cls, text: str, source: str = "<qasm>") -> CircuitTemplate:
        from qhil.quantum.template_qasm import template_from_qasm
        return template_from_qasm(text, source, cls)

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


class Occurrence(NamedTuple):
    """One parameterised angle of a template: its expression and its gate's shift rule."""

    angle: Angle
    rule: ShiftRule


def expand_occurrences(template: CircuitTemplate) -> tuple[CircuitTemplate, list[Occurrence]]:
    """The template with each parameterised angle reading its own column, and per such column
    the Occurrence the shift rule differentiates (chain rule: d angle / d params). An hDQNN
    template already reads one column per angle in gate order: it is its own expansion."""
    if template.hdqnn_layout is not None:
        return template, list(_hdqnn_occurrences(template.n_qubits, template.hdqnn_layout.n_layers))
    gates, occurrences = [], []
    for gate in template.gates:
        angles = []
        for angle, rule in zip(gate.angles, GATES[gate.name].shifts, strict=True):
            if angle.is_const:
                angles.append(angle)
                continue
            angles.append(_column(len(occurrences)))
            occurrences.append(Occurrence(angle, rule))
        same = all(a == b for a, b in zip(angles, gate.angles, strict=True))
        gates.append(gate if same else Gate(gate.name, gate.qubits, tuple(angles)))
    return CircuitTemplate(template.n_qubits, gates, n_params=len(occurrences),
                           name=f"{template.name}-shifted"), occurrences


def occurrence_values(occurrences: list[Occurrence], params):
    """(rows, occurrences) angle values of `expand_occurrences`' template for params (rows, P),
    numpy or torch as given."""
    if not occurrences:
        return params[:, :0] * 0.0
    columns = [o.angle.affine for o in occurrences]
    if all(c is not None and c[1] == 1.0 and o.angle.offset == 0.0
           for c, o in zip(columns, occurrences, strict=True)):
        return params[:, [c[0] for c in columns]]  # every angle a bare parameter (hDQNN): a gather
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


@contextmanager
def _gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def hdqnn_gates(layout: HDQNNLayout) -> list[Gate]:
    """The gate list of an hDQNN structure; (i, i) CZ pairs are no gate."""
    n, gates = layout.n_qubits, []
    for layer, pairs in enumerate(layout.cz.tolist()):
        gates += _hdqnn_rotations(n, layer)
        gates += [Gate("cz", (i, k)) for i, k in pairs if i != k]
    return gates


@lru_cache(maxsize=4096)
def _column(k: int) -> Angle:
    """The angle p_k (immutable, so shared)."""
    return Angle(k)


@lru_cache(maxsize=64)
def _hdqnn_occurrences(n_qubits: int, n_layers: int) -> tuple[Occurrence, ...]:
    """The occurrences of an hDQNN template: its rotation angles, column by column."""
    return tuple(Occurrence(g.angles[0], GATES[g.name].shifts[0])
                 for layer in range(n_layers) for g in _hdqnn_rotations(n_qubits, layer))


@lru_cache(maxsize=256)
def _hdqnn_rotations(n_qubits: int, layer: int) -> tuple[Gate, ...]:
    """RX then RY on every qubit of one hDQNN layer (shared by every structure: gates and
    angles are immutable, and building their angles was most of a 10 x 10 structure's gates)."""
    base = layer * n_qubits * 2
    return tuple(Gate(name, (q,), (_column(base + 2 * q + axis),))
                 for q in range(n_qubits) for axis, name in enumerate(("rx", "ry")))
