"""A Qiskit PUB's circuit as a qhil template plus where each measured qubit's bit goes.

    plan = MeasurePlan.of(circuit)      # refuses mid-circuit measurement with one line
    plan.template                       # the circuit without its final measurements
    plan.registers                      # [(register name, width, [(qubit, bit), ...])]
    plan.values(bits)                   # (S, n) 0/1 qubit readings -> {register: (S,) ints}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qhil.errors import RequestValidationError
from qhil.quantum.template import CircuitTemplate

_PASSIVE = {"barrier", "delay"}


@dataclass(frozen=True)
class MeasurePlan:
    template: CircuitTemplate
    registers: tuple[tuple[str, int, tuple[tuple[int, int], ...]], ...]

    @classmethod
    def of(cls, circuit) -> MeasurePlan:
        targets = _final_measurements(circuit)
        registers = tuple((reg.name, reg.size, tuple((q, reg.index(c)) for q, c in targets
                                                     if c in reg)) for reg in circuit.cregs)
        bare = circuit.remove_final_measurements(inplace=False)
        return cls(CircuitTemplate.from_qiskit(bare), registers)

    def values(self, bits: np.ndarray) -> dict[str, np.ndarray]:
        """Per register, each shot's integer value (classical bit k weighs 2**k, as Qiskit)."""
        out = {}
        for name, _, pairs in self.registers:
            value = np.zeros(bits.shape[0], dtype=np.uint64)
            for qubit, bit in pairs:
                value |= bits[:, qubit].astype(np.uint64) << np.uint64(bit)
            out[name] = value
        return out


def _final_measurements(circuit) -> list[tuple[int, object]]:
    """(qubit index, clbit) of each measurement; a gate after a measurement on its qubit, a
    reset or a classically controlled gate is refused."""
    measured: dict[int, object] = {}
    for item in circuit.data:
        name = item.operation.name
        qubits = [circuit.find_bit(q).index for q in item.qubits]
        if name == "measure":
            measured[qubits[0]] = item.clbits[0]
        elif name not in _PASSIVE and (set(qubits) & measured.keys() or name == "reset"
                                       or getattr(item.operation, "condition", None)):
            raise RequestValidationError(
                f"'{name}' on qubit {qubits} after a measurement (or a reset / classical control):"
                f" qhil samples circuits measured at the end only")
    return sorted(measured.items(), key=lambda pair: pair[0])


def shots_bits(counts: dict[str, int], n_qubits: int, rng: np.random.Generator) -> np.ndarray:
    """(S, n) 0/1 readings, one row per shot in a seeded random order, from counts whose keys
    list qubit 0 first (qhil's convention)."""
    keys = list(counts)
    table = np.frombuffer("".join(keys).encode(), dtype=np.uint8).reshape(len(keys), n_qubits)
    rows = np.repeat(np.arange(len(keys)), [counts[k] for k in keys])
    return (table[rng.permutation(rows)] - ord("0")).astype(np.uint8)
