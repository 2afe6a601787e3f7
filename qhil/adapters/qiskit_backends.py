"""Backends for the Qiskit adapters: fake IBM backends, ISA transpilation cached per circuit
structure, and the simulation of an ISA circuit restricted to the qubits its layout uses.

A fake backend's noise model spans the whole device (133 qubits on FakeTorino), and local testing
mode pays for that on every circuit. Qubits a circuit never touches cannot change its outcome
(the noise model has no crosstalk), so `ReducedDevice` re-indexes the used physical qubits to
0..k-1, restricts the backend's target to them and builds the Aer noise model from that target
only: the same per-qubit gate, readout and relaxation errors, on k qubits instead of 133.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import CircuitInstruction
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target, generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel

from qhil.errors import ConfigError

CONTROL_FLOW = {"for_loop", "if_else", "switch_case", "while_loop", "box"}


def fake_backend(name: str) -> BackendV2:
    """A qiskit-ibm-runtime fake backend by class name, e.g. "FakeTorino"."""
    from qiskit_ibm_runtime import fake_provider

    cls = getattr(fake_provider, name, None)
    if cls is None or not name.startswith("Fake"):
        raise ConfigError(f"unknown fake backend '{name}'; use a class of "
                          f"qiskit_ibm_runtime.fake_provider such as FakeTorino or FakeFez")
    return cls()


@dataclass
class TranspileCache:
    """ISA circuits per (qubits, structure), transpiled once. Every structure of a width is laid out
    on the same coupled line of physical qubits, so a batch's circuits share few qubits."""

    backend: BackendV2
    optimization_level: int = 1
    seed: int = 1234
    hits: int = 0
    misses: int = 0
    _isa: dict[tuple[int, bytes], QuantumCircuit] = field(default_factory=dict)
    _managers: dict[int, Any] = field(default_factory=dict)

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def get(self, key: bytes, circuit: QuantumCircuit) -> QuantumCircuit:
        """The ISA circuit of a structure, transpiled on first use."""
        cache_key = (circuit.num_qubits, key)
        if cache_key in self._isa:
            self.hits += 1
            return self._isa[cache_key]
        self.misses += 1
        self._isa[cache_key] = isa = self._transpile(circuit)
        return isa

    def _transpile(self, circuit: QuantumCircuit) -> QuantumCircuit:
        width = circuit.num_qubits
        if width not in self._managers:
            self._managers[width] = self._manager(self._line_layout(width))
        isa = self._managers[width].run(circuit)
        if isa.num_parameters != circuit.num_parameters:
            raise ConfigError(f"transpiling for {self.backend.name} dropped circuit parameters; "
                              f"use optimization_level 0 or 1")
        return isa

    def _line_layout(self, width: int) -> list[int] | None:
        """Physical qubits forming a coupled line: routing between any two of them stays on it."""
        if width < 2:
            return None
        line = QuantumCircuit(width)
        for j in range(width - 1):
            line.cz(j, j + 1)
        return self._manager(None).run(line).layout.initial_index_layout()[:width]

    def _manager(self, layout: list[int] | None) -> Any:
        return generate_preset_pass_manager(
            backend=self.backend, optimization_level=self.optimization_level,
            initial_layout=layout, seed_transpiler=self.seed)


def active_qubits(circuits: Iterable[QuantumCircuit]) -> list[int]:
    """Physical qubits any instruction of the circuits acts on, ascending."""
    used: set[int] = set()
    for circuit in circuits:
        for inst in circuit.data:
            if inst.operation.name != "barrier":
                used.update(circuit.find_bit(q).index for q in inst.qubits)
    return sorted(used)


def compact_circuit(circuit: QuantumCircuit, active: list[int]) -> QuantumCircuit:
    """The circuit on len(active) qubits, physical qubit active[i] becoming qubit i."""
    index = {q: i for i, q in enumerate(active)}
    out = QuantumCircuit(QuantumRegister(len(active), "q"), *circuit.cregs,
                         name=circuit.name, metadata=dict(circuit.metadata or {}))
    for inst in circuit.data:
        if inst.operation.name == "barrier":
            continue
        qubits = [out.qubits[index[circuit.find_bit(q).index]] for q in inst.qubits]
        clbits = [out.clbits[circuit.find_bit(c).index] for c in inst.clbits]
        # the documented fast path for instructions already checked (ISA circuits, never mutated)
        out._append(CircuitInstruction(inst.operation, qubits, clbits))
    return out


def reduced_target(target: Target, active: list[int]) -> Target:
    """The target restricted to the active qubits, re-indexed 0..k-1."""
    index = {q: i for i, q in enumerate(active)}
    props = target.qubit_properties
    out = Target(num_qubits=len(active), dt=target.dt,
                 qubit_properties=[props[q] for q in active] if props else None)
    for name in target.operation_names:
        if name in CONTROL_FLOW or target[name] is None:
            continue
        kept = {tuple(index[q] for q in qargs): p for qargs, p in target[name].items()
                if qargs is not None and all(q in index for q in qargs)}
        if kept:
            out.add_instruction(target.operation_from_name(name), kept, name=name)
    return out


class _TargetBackend(BackendV2):
    """A backend that is only a target: what NoiseModel.from_backend needs."""

    def __init__(self, target: Target, name: str):
        super().__init__(name=name)
        self._target = target

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> None:
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options()

    def run(self, run_input, **options):  # pragma: no cover - never run directly
        raise NotImplementedError


@dataclass
class ReducedDevice:
    """Noisy Aer simulators of a backend restricted to sets of qubits, cached per set."""

    backend: BackendV2
    _simulators: dict[tuple[int, ...], AerSimulator] = field(default_factory=dict)

    def simulator(self, active: list[int]) -> AerSimulator:
        key = tuple(active)
        if key not in self._simulators:
            target = reduced_target(self.backend.target, active)
            noise = NoiseModel.from_backend(_TargetBackend(target, f"{self.backend.name}-reduced"))
            self._simulators[key] = AerSimulator(noise_model=noise)
        return self._simulators[key]
