"""PennyLane tapes -> one qhil template request: a template per distinct circuit structure, a
parameter row per circuit (and per broadcast element).

    batch = TapeBatch.of(tapes, wires)       tapes already decomposed to NATIVE (preprocess)
    batch.request(shots, seed)               the SamplingRequest of every tape's rows
    batch.rows[i]                            the request rows of tape i (one per broadcast element)

Every numeric gate parameter reads its own template column, so tapes that differ only in their
angles (the 2P shifted tapes of a parameter-shift gradient) share one template. Qubit k of a
template is the device's k-th wire; every device wire is measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pennylane import math
from pennylane.tape import QuantumScript
from pennylane.wires import Wires

from qhil.quantum.request import SamplingRequest
from qhil.quantum.template import GATES, Angle, CircuitTemplate, Gate

PENNYLANE_NAMES = {
    "RX": "rx", "RY": "ry", "RZ": "rz", "U3": "u3", "Hadamard": "h", "PauliX": "x", "SX": "sx",
    "CZ": "cz", "CNOT": "cx", "SWAP": "swap", "CRX": "crx", "CRY": "cry", "CRZ": "crz"}
"""PennyLane operation name -> qhil gate (Qiskit conventions; PennyLane's U3 is Qiskit's)."""

GATE_MAP = {pl: qhil for pl, qhil in PENNYLANE_NAMES.items() if qhil in GATES}
DROPPED = frozenset({"Identity", "GlobalPhase", "Barrier"})
"""Operations with no effect on what is measured: accepted and left out of the template."""
NATIVE = frozenset(GATE_MAP) | DROPPED
"""What `preprocess` decomposes every circuit to."""


@dataclass(frozen=True)
class TapeBatch:
    """Templates (deduplicated by structure), parameter rows and the rows of each tape."""

    templates: tuple[CircuitTemplate, ...]
    params: np.ndarray
    template_index: np.ndarray
    rows: tuple[range, ...]

    @classmethod
    def of(cls, tapes: tuple[QuantumScript, ...], wires: Wires) -> TapeBatch:
        parts = [tape_gates(tape, wires) for tape in tapes]
        width = max((len(columns) for _, columns, _ in parts), default=0)
        templates: dict[bytes, int] = {}
        unique, params, index, rows = [], [], [], []
        for gates, columns, batch in parts:
            template = CircuitTemplate(len(wires), gates, n_params=width, name="pennylane")
            slot = templates.setdefault(template.key, len(unique))
            if slot == len(unique):
                unique.append(template)
            rows.append(range(len(index), len(index) + batch))
            params.append(_rows(columns, batch, width))
            index += [slot] * batch
        return cls(tuple(unique), np.concatenate(params), np.asarray(index), tuple(rows))

    def request(self, shots: int, seed: int | None, repeats: int = 1) -> SamplingRequest:
        """Every row `repeats` times over (row r's copies at r, r + B, ...), `shots` each."""
        return SamplingRequest.from_templates(
            self.templates, np.tile(self.params, (repeats, 1)), shots, seed,
            np.tile(self.template_index, repeats), tags={"source": "pennylane"})


def tape_gates(tape: QuantumScript, wires: Wires) -> tuple[list[Gate], list[np.ndarray], int]:
    """The tape's gates, each parameter its own column; the column values (scalars or one per
    broadcast element); the number of rows (the broadcast size, or 1)."""
    gates, columns = [], []
    for op in tape.operations:
        if op.name in DROPPED:
            continue
        angles = []
        for value in op.data:
            angles.append(Angle(len(columns)))
            columns.append(np.asarray(math.unwrap(value), dtype=np.float64))
        gates.append(Gate(GATE_MAP[op.name], tuple(wires.indices(op.wires)), tuple(angles)))
    return gates, columns, tape.batch_size or 1


def _rows(columns: list[np.ndarray], batch: int, width: int) -> np.ndarray:
    """(batch, width): each column broadcast over the rows, zero-padded to the batch's width."""
    out = np.zeros((batch, width))
    for k, values in enumerate(columns):
        out[:, k] = np.broadcast_to(values, (batch,))
    return out
