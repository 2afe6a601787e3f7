"""SamplingRequest -> Braket circuits with FreeParameters, and Braket results -> qhil arrays.

One parameterised `Circuit` per distinct circuit structure (its CZ pairs); every row of the
request becomes an input set {parameter name: angle} of its structure's circuit. Rows are bound
in request order: a run of consecutive rows with one structure becomes one `CircuitBinding`
(the same Circuit object serves every run of that structure), so the executables of a program set
come back in request order and a job id alone is enough to re-attach and rebuild the result.

Bit order: Braket bitstrings are big-endian with qubit 0 first, exactly like qhil's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from braket.circuits import Circuit, FreeParameter, Instruction, Noise
from braket.circuits.gates import CZ, Rx, Ry
from braket.program_sets import CircuitBinding, ProgramSet

from qhil.execution.request import SamplingRequest


@dataclass(frozen=True)
class GateNoise:
    """Noise added to circuits for the density-matrix simulator (probabilities in [0, 1])."""

    gate_1q: float = 0.0
    gate_2q: float = 0.0
    readout: float = 0.0

    @property
    def any(self) -> bool:
        return self.gate_1q > 0 or self.gate_2q > 0 or self.readout > 0


@dataclass(frozen=True)
class Binding:
    """One parameterised circuit and the request rows bound to it, in order."""

    circuit: Circuit
    rows: list[int]
    input_sets: list[dict[str, float]]

    def to_braket(self) -> CircuitBinding:
        return CircuitBinding(self.circuit, input_sets=self.input_sets)

    def bound(self, index: int) -> Circuit:
        """The circuit of `rows[index]` with its angles filled in."""
        return self.circuit.make_bound_circuit(self.input_sets[index], strict=True)


def parameter_name(layer: int, qubit: int, axis: int) -> str:
    """Name of the RX (axis 0) or RY (axis 1) angle of a qubit in a layer."""
    return f"{'xy'[axis]}_{layer}_{qubit}"


def structure_circuit(cz: np.ndarray, n_qubits: int, noise: GateNoise | None = None) -> Circuit:
    """The parameterised circuit of one structure: cz (L, P, 2); a pair (i, i) is no gate."""
    circuit = Circuit()
    for layer, pairs in enumerate(np.asarray(cz)):
        for q in range(n_qubits):
            circuit.add_instruction(_rotation(Rx, layer, q, 0))
            circuit.add_instruction(_rotation(Ry, layer, q, 1))
        for i, k in pairs:
            if i != k:
                circuit.cz(int(i), int(k))
    return _with_noise(circuit, noise) if noise is not None and noise.any else circuit


def input_sets(angles: np.ndarray) -> list[dict[str, float]]:
    """angles (R, L, n, 2) -> one {parameter name: angle} per row."""
    _, layers, n, _ = angles.shape
    names = [parameter_name(l_, q, a) for l_ in range(layers) for q in range(n) for a in (0, 1)]
    flat = angles.reshape(angles.shape[0], -1)
    return [dict(zip(names, map(float, row), strict=True)) for row in flat]


def bindings(request: SamplingRequest, noise: GateNoise | None = None) -> list[Binding]:
    """The request as bindings: one Circuit per distinct structure, one binding per run of rows."""
    circuits: dict[bytes, Circuit] = {}
    keys = request.structure_keys()
    out: list[Binding] = []
    start = 0
    for stop in range(1, len(keys) + 1):
        if stop < len(keys) and keys[stop] == keys[start]:
            continue
        key = keys[start]
        if key not in circuits:
            circuits[key] = structure_circuit(request.cz[start], request.n_qubits, noise)
        rows = list(range(start, stop))
        out.append(Binding(circuits[key], rows, input_sets(request.angles[rows])))
        start = stop
    return out


def chunk_bindings(parts: list[Binding], max_executables: int) -> list[list[Binding]]:
    """Pack bindings, in order, into chunks of at most `max_executables` rows; long runs are cut."""
    chunks: list[list[Binding]] = [[]]
    room = max_executables
    for part in parts:
        offset = 0
        while offset < len(part.rows):
            if room == 0:
                chunks.append([])
                room = max_executables
            take = min(room, len(part.rows) - offset)
            chunks[-1].append(_slice(part, offset, offset + take))
            offset += take
            room -= take
    return chunks


def program_set(chunk: list[Binding], shots: int) -> ProgramSet:
    """One Braket ProgramSet for a chunk; total shots = shots x executables."""
    return ProgramSet([b.to_braket() for b in chunk], shots_per_executable=shots)


def marginals_and_counts(counts: list[dict[str, int]], n_qubits: int
                         ) -> tuple[np.ndarray, list[dict[str, int]]]:
    """Per-circuit Braket counts (big-endian, qubit 0 first) -> (B, n) marginals and plain dicts."""
    plain = [{str(bits): int(c) for bits, c in table.items()} for table in counts]
    out = np.zeros((len(plain), n_qubits))
    for row, table in enumerate(plain):
        for bits, count in table.items():
            out[row] += count * (np.frombuffer(bits.encode(), dtype=np.uint8) == ord("1"))
        out[row] /= max(sum(table.values()), 1)
    return out, plain


def marginals_from_probabilities(probabilities: np.ndarray, n_qubits: int) -> np.ndarray:
    """(B, 2**n) probabilities, index big-endian -> (B, n) exact P(qubit j reads 1)."""
    index = np.arange(2 ** n_qubits)
    bits = (index[:, None] >> (n_qubits - 1 - np.arange(n_qubits))[None, :]) & 1
    return np.asarray(probabilities, dtype=np.float64) @ bits


def _rotation(gate: type, layer: int, qubit: int, axis: int):
    return Instruction(gate(FreeParameter(parameter_name(layer, qubit, axis))), qubit)


def _with_noise(circuit: Circuit, noise: GateNoise) -> Circuit:
    if noise.gate_1q > 0:
        circuit.apply_gate_noise(Noise.Depolarizing(noise.gate_1q), target_gates=[Rx, Ry])
    if noise.gate_2q > 0 and any(isinstance(i.operator, CZ) for i in circuit.instructions):
        circuit.apply_gate_noise(Noise.TwoQubitDepolarizing(noise.gate_2q), target_gates=[CZ])
    if noise.readout > 0:
        circuit.apply_readout_noise(Noise.BitFlip(noise.readout))
    return circuit


def _slice(part: Binding, start: int, stop: int) -> Binding:
    if start == 0 and stop == len(part.rows):
        return part
    return Binding(part.circuit, part.rows[start:stop], part.input_sets[start:stop])
