"""SamplingRequest -> Qiskit: one parameterised circuit per template (circuit structure).

Rows that share a template share one circuit (an hDQNN request has one template per distinct CZ
pattern); each angle occurrence of the circuit is its own Parameter, and a row's bound values are
its template's angles evaluated on the row's parameters.

Bit order: qhil bitstrings read qubit 0 first, Qiskit's read the highest classical bit first.
Qubit j is therefore measured into classical bit n-1-j, and the bitstrings Qiskit prints
already read qubit 0 first; no reversal is needed downstream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit

from qhil.quantum.request import SamplingRequest, template_rows
from qhil.quantum.template import GATES, expand_occurrences, occurrence_values
from qhil.quantum.template_decompose import decompose_template
from qhil.quantum.template_io import qiskit_values

CREG = "meas"
BACKEND_GATES = frozenset(GATES) - {"ch", "cs", "csdg", "iswap", "dcx", "xx_plus_yy",
                                    "xx_minus_yy", "gphase"}
"""Template gates Aer 0.18 simulates as they are (IBM backends transpile any of them). The others
are decomposed (template_decompose.py); a global phase is dropped (the transpiler folds it into
the circuit's phase, and its parameter with it)."""


@dataclass(frozen=True)
class StructurePub:
    """One circuit structure of a request: its circuit, the request rows it serves and their values.

    Attributes:
        key: the template's key (`CircuitTemplate.key`, as in `SamplingRequest.structures()`).
        circuit: the logical circuit (not yet ISA), measured into register "meas".
        rows: request row indices that use this structure, in request order.
        values: (len(rows), angles) the circuit's parameter values, one row per circuit.
    """

    key: bytes
    circuit: QuantumCircuit
    rows: list[int]
    values: np.ndarray


def translate(request: SamplingRequest, measure: bool = True) -> list[StructurePub]:
    """One PUB per template, in first-seen order: its circuit and a (rows, angles) array of its
    rows' values (an hDQNN request has one template per distinct CZ structure).

    Gates Aer lacks are decomposed and global phases dropped (`BACKEND_GATES`). Each
    parameterised angle is its own plain Parameter, its value (the angle's expression) computed
    here: Aer 0.18 mis-binds (or fails on) affine ParameterExpressions in some circuits.
    """
    pubs = []
    for template, rows in template_rows(request):
        expanded, occurrences = expand_occurrences(decompose_template(template, BACKEND_GATES))
        circuit = expanded.to_qiskit(measure)
        circuit.name = template.name
        angles = occurrence_values(occurrences, request.params[rows])
        values = qiskit_values(expanded, circuit, angles)
        pubs.append(StructurePub(template.key, circuit, rows, values))
    return pubs


template_pubs = translate
"""The name `translate` had for template requests while requests had two kinds."""


def bound_circuit(pub: StructurePub, index: int) -> QuantumCircuit:
    """The pub's circuit with row `index`'s values bound (for tests and reference runs)."""
    return pub.circuit.assign_parameters(pub.values[index])


def probabilities_qubit0_first(little_endian: np.ndarray, n_qubits: int) -> np.ndarray:
    """Qiskit's probability vector (qubit 0 = least significant) -> qhil's (qubit 0 = most)."""
    tensor = np.asarray(little_endian).reshape((2,) * n_qubits)
    return tensor.transpose(tuple(reversed(range(n_qubits)))).reshape(-1)


def marginals_from_bits(bits: np.ndarray) -> np.ndarray:
    """Booleans (rows, shots, n), qubit 0 first -> (rows, n) fraction of shots reading 1."""
    return np.asarray(bits, dtype=np.float64).mean(axis=1)
