"""SamplingRequest -> Qiskit: one parameterised circuit per distinct circuit structure.

A structure is a request row's CZ pattern (L, P, 2); rows that share it share one circuit whose
angles are a ParameterVector "theta" of length L*n*2 in (layer, qubit, RX/RY) order, so a row's
bound values are simply `angles[row].reshape(-1)`.

Bit order: qhil bitstrings read qubit 0 first, Qiskit's read the highest classical bit first.
Qubit j is therefore measured into classical bit n-1-j, and the bitstrings Qiskit prints
already read qubit 0 first; no reversal is needed downstream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector

from qhil.execution.request import SamplingRequest
from qhil.execution.template_request import template_rows
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
        key: the structure's bytes key (from `SamplingRequest.structures()`).
        circuit: the logical circuit (not yet ISA), measured into register "meas".
        rows: request row indices that use this structure, in request order.
        values: (len(rows), L*n*2) parameter values, one row per circuit.
    """

    key: bytes
    circuit: QuantumCircuit
    rows: list[int]
    values: np.ndarray


def structure_circuit(cz: np.ndarray, n_qubits: int, measure: bool = True) -> QuantumCircuit:
    """The parameterised circuit of one CZ pattern cz (L, P, 2); (i, i) pairs are no gate."""
    n_layers = cz.shape[0]
    theta = ParameterVector("theta", n_layers * n_qubits * 2)
    qc = QuantumCircuit(QuantumRegister(n_qubits, "q"), name="hdqnn")
    for layer in range(n_layers):
        base = layer * n_qubits * 2
        for j in range(n_qubits):
            qc.rx(theta[base + 2 * j], j)
            qc.ry(theta[base + 2 * j + 1], j)
        for i, k in cz[layer]:
            if i != k:
                qc.cz(int(i), int(k))
    if measure:
        _measure_qubit0_first(qc, n_qubits)
    return qc


def _measure_qubit0_first(qc: QuantumCircuit, n_qubits: int) -> None:
    creg = ClassicalRegister(n_qubits, CREG)
    qc.add_register(creg)
    qc.measure(list(range(n_qubits)), [creg[n_qubits - 1 - j] for j in range(n_qubits)])


def translate(request: SamplingRequest, measure: bool = True) -> list[StructurePub]:
    """One StructurePub per distinct circuit structure (per template of a template request),
    in first-seen order."""
    if request.is_template:
        return template_pubs(request, measure)
    flat = request.angles.reshape(request.batch_size, -1)
    pubs = []
    for key, rows in request.structures().items():
        circuit = structure_circuit(request.cz[rows[0]], request.n_qubits, measure)
        pubs.append(StructurePub(key, circuit, rows, flat[rows]))
    return pubs


def template_pubs(request: SamplingRequest, measure: bool = True) -> list[StructurePub]:
    """One PUB per template: its circuit and a (rows, angles) array of its rows' values.

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
