"""SamplingRequest -> Braket circuits with FreeParameters, and Braket results -> qhil arrays.

One parameterised `Circuit` per template of the request (an hDQNN request has one template per
distinct CZ structure); every row becomes an input set {parameter name: value} of its template's
circuit. Rows are bound in request order: a run of consecutive rows with one template becomes one
`CircuitBinding` (the same Circuit object serves every run of that template), so the executables
of a program set come back in request order and a job id alone is enough to re-attach and rebuild
the result.

What goes on the wire is the OpenQASM 3 program `CircuitBinding.to_ir()` would produce (inputs
declared, the same gate lines, one list of values per input), written directly by
`template_braket.braket_qasm`: building 256 ten-qubit Braket `Circuit`s and serialising them
through the SDK took 30-40 s of client time per batch here, the direct writer a fraction of that.
Tests check the two agree.

Bit order: Braket bitstrings are big-endian with qubit 0 first, exactly like qhil's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from braket.circuits import Circuit, Noise
from braket.ir.openqasm import Program
from braket.program_sets import CircuitBinding, ProgramSet

from qhil.quantum.request import SamplingRequest
from qhil.quantum.template import CircuitTemplate
from qhil.quantum.template_braket import braket_input_sets, braket_qasm


@dataclass(frozen=True)
class GateNoise:
    """Noise added to circuits for the density-matrix simulator (probabilities in [0, 1])."""

    gate_1q: float = 0.0
    gate_2q: float = 0.0
    readout: float = 0.0

    @property
    def any(self) -> bool:
        return self.gate_1q > 0 or self.gate_2q > 0 or self.readout > 0


@dataclass(eq=False)
class TemplateStructure:
    """A circuit template as a Braket structure: its Circuit and its program text."""

    template: CircuitTemplate
    noise: GateNoise | None = None

    @cached_property
    def circuit(self) -> Circuit:
        return template_circuit(self.template, self.noise)

    def bound(self, inputs: dict[str, float]) -> Circuit:
        """The circuit with one row's inputs filled in (not make_bound_circuit: see to_braket)."""
        row = np.zeros(self.template.n_params)
        for name, value in inputs.items():
            row[int(name.removeprefix("p_"))] = value
        return template_circuit(self.template, self.noise, row)

    @cached_property
    def qasm(self) -> str:
        noise = self.noise if self.noise is not None and self.noise.any else None
        return braket_qasm(self.template, noise)


@dataclass(frozen=True)
class Binding:
    """One circuit structure and the request rows bound to it, in order."""

    structure: TemplateStructure
    rows: list[int]
    input_sets: list[dict[str, float]]

    @property
    def circuit(self) -> Circuit:
        return self.structure.circuit

    def to_braket(self) -> CircuitBinding:
        """The SDK's CircuitBinding (FreeParameter circuit + input sets)."""
        return CircuitBinding(self.circuit, input_sets=self.input_sets)

    def to_program(self) -> Program:
        """The OpenQASM program with one list of values per input: what a CircuitBinding sends."""
        names = self.input_sets[0].keys()
        inputs = {name: [row[name] for row in self.input_sets] for name in names}
        # construct() skips pydantic-v1 re-validation of B x 2nL floats we built ourselves
        # (15 s of a 256-circuit batch here); tests parse the result back through the schema.
        return Program.construct(source=self.structure.qasm, inputs=inputs)

    def program(self, index: int) -> Program:
        """The OpenQASM program of `rows[index]` alone."""
        return Program(source=self.structure.qasm, inputs=dict(self.input_sets[index]))

    def bound(self, index: int) -> Circuit:
        """The circuit of `rows[index]` with its values filled in."""
        return self.structure.bound(self.input_sets[index])


def bindings(request: SamplingRequest, noise: GateNoise | None = None) -> list[Binding]:
    """The request as bindings: one TemplateStructure per template, one binding per run of rows
    sharing a template."""
    structures = [TemplateStructure(t, noise) for t in request.templates]
    index = request.template_index
    out: list[Binding] = []
    start = 0
    for stop in range(1, len(index) + 1):
        if stop < len(index) and index[stop] == index[start]:
            continue
        structure = structures[index[start]]
        rows = list(range(start, stop))
        out.append(Binding(structure, rows, braket_input_sets(structure.template,
                                                              request.params[rows])))
        start = stop
    return out


template_bindings = bindings
"""The name `bindings` had for template requests while requests had two kinds."""


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
    return ProgramSet([b.to_program() for b in chunk], shots_per_executable=shots)


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


def template_circuit(template: CircuitTemplate, noise: GateNoise | None,
                     row: np.ndarray | None = None) -> Circuit:
    """The template's Braket Circuit, with depolarising noise after every one- and two-qubit gate
    and bit flips before readout (as `braket_qasm` writes them)."""
    circuit = template.to_braket(row)
    if noise is None or not noise.any:
        return circuit
    noisy = Circuit()
    for inst in circuit.instructions:
        noisy.add_instruction(inst)
        qubits = [int(q) for q in (*inst.control, *inst.target)]
        if inst.operator.name == "I":
            continue
        if len(qubits) == 1 and noise.gate_1q > 0:
            noisy.depolarizing(qubits[0], noise.gate_1q)
        elif len(qubits) == 2 and noise.gate_2q > 0:
            noisy.two_qubit_depolarizing(qubits[0], qubits[1], noise.gate_2q)
    if noise.readout > 0:
        noisy.apply_readout_noise(Noise.BitFlip(noise.readout))
    return noisy


def _slice(part: Binding, start: int, stop: int) -> Binding:
    if start == 0 and stop == len(part.rows):
        return part
    return Binding(part.structure, part.rows[start:stop], part.input_sets[start:stop])
