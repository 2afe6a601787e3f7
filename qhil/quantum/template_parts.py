"""The parts a CircuitTemplate is made of, below the template and its converters (so that the
converters in template_io.py, template_qasm.py, template_braket.py and template_decompose.py
need not import the template class: they build templates through the class they are given).

    Gate(name, qubits, angles)     one gate of the table GATES
    HDQNNLayout(n_qubits, cz)      an hDQNN structure
    check_gate(gate, n, P, where)  raise CircuitTemplateError if it does not fit
    TemplateLike                   what a converter reads of a template
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qhil.errors import RequestValidationError
from qhil.quantum.template_angle import Angle
from qhil.quantum.template_gates import GATES


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


class TemplateLike(Protocol):
    """What the converters read of a template (CircuitTemplate has all of it)."""

    n_qubits: int
    n_params: int
    name: str

    @property
    def gates(self) -> Sequence[Gate]: ...

    @property
    def param_names(self) -> tuple[str, ...]: ...


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
