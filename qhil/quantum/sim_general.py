"""The simulator's general kernel: any CircuitTemplate, compiled once into a plan of fused steps.

A template's gate list becomes (`compile_plan`, cached per template, dtype and device):
- `FuseStep`: runs of one-qubit gates, multiplied per qubit into one 2x2 (they commute with
  gates on other qubits) and applied per contiguous qubit group (at most 4 qubits) as one
  Kronecker matrix in one batched matmul; when every qubit has a run, the groups are applied
  from the front of the state as the hDQNN kernel does (`apply_leading_group`).
- `DiagStep`: a run of diagonal gates (rz, p/u1, z, s, t, sdg, tdg, id, cz, cp, crz, rzz, cs,
  csdg, ccz, global phase, on any qubits) merged: the constant gates into ONE cached diagonal,
  the parameterised ones in groups of at most DIAG_GROUP_QUBITS qubits, each group's phases
  (every such gate's phase is angle * a(x) + b(x)) computed on its own qubits, (b, 2**m), and
  broadcast over the state (one multiply pass per group; no exp over all 2**n amplitudes).
- `BlockStep`: every other gate, fused with its neighbours into blocks of at most
  BLOCK_QUBITS qubits (a gate joins the open blocks of its qubits while their union stays that
  small, taking its qubits' pending one-qubit runs along); a block's matrix is its gates applied
  to the identity (built once when no gate reads a parameter, else per row) and is applied by
  one batched matmul from the left with its qubits' axes leading.
Per row, every angle, gate matrix, one-qubit run product and block matrix a batch needs is built
at once, vectorised over the template's gates (sim_rows.py, sim_blocks.py), then read by index.
- `PermuteStep`: the state keeps one qubit order across steps (`chain_layouts`): before a
  block whose qubits do not lead, one axis permutation brings them to the front (nothing moves
  them back); diagonal runs are placed in the order they meet at compile time; one-qubit runs
  and the end see the canonical order.
Diagonal gates commute with each other, so a run collects them until another gate touches one
of its qubits; each qubit is held by at most one pending run, open block or the diagonal run.
States are (B, 2**n), qubit 0 the most significant bit; everything is torch
autograd-differentiable (the "exact" gradient strategy).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from qhil.quantum.sim_blocks import qubits_last
from qhil.quantum.sim_rows import RowProgram, RowTables, compile_program, row_tables
from qhil.quantum.statevector import (
    apply_group,
    apply_leading_group,
    default_groups,
    group_starts,
    kron_pair,
    product_state,
    rotation_groups,
)
from qhil.quantum.template import Angle, CircuitTemplate, Gate
from qhil.quantum.template_gates import GATES, matrix

GROUP_QUBITS = 4  # largest Kronecker group of fused one-qubit runs (as the hDQNN kernel)
BLOCK_QUBITS = 4  # largest block of fused gates
DIAG_GROUP_QUBITS = 8  # largest qubit group of a diagonal run's parameterised gates
TABLE_ENTRIES = 2**21  # most numbers in one part's row tables (16 MiB complex64; evolve splits)


@dataclass(frozen=True)
class FuseStep:
    """Per qubit, its run of one-qubit gates (time order), applied per qubit group."""

    runs: tuple[tuple[int, tuple[Gate, ...]], ...]


@dataclass(frozen=True)
class DiagGroup:
    """Parameterised diagonal gates on a few qubits: phases angles @ slopes (G, 2**m) over those
    qubits (in the state's axis order), broadcast over the state as `shape` (2 on their axes)."""

    angles: tuple[Angle, ...]
    slopes: torch.Tensor
    shape: tuple[int, ...]


@dataclass(frozen=True)
class DiagStep:
    """A run of diagonal gates: the constant diagonal `const` (2**n,) (complex, None when 1) and
    the parameterised gates in groups of at most DIAG_GROUP_QUBITS qubits, both in the state's
    axis order where the run meets it; `gates` (the run) to place it in another order."""

    gates: tuple[Gate, ...]
    const: torch.Tensor | None
    groups: tuple[DiagGroup, ...]


@dataclass(frozen=True)
class BlockStep:
    """Gates on at most BLOCK_QUBITS qubits (local indices into `qubits`, ascending) as one
    matrix; `const` is that matrix (1, d, d) when no gate reads a parameter."""

    qubits: tuple[int, ...]
    gates: tuple[Gate, ...]
    const: torch.Tensor | None


@dataclass(frozen=True)
class PermuteStep:
    """The state's qubit axes reordered: new axis a is old axis axes[a]."""

    axes: tuple[int, ...]


Step = FuseStep | DiagStep | BlockStep | PermuteStep


@dataclass(frozen=True)
class Plan:
    """A template's steps; `final` is its last diagonal run (no effect on probabilities)."""

    n_qubits: int
    steps: tuple[Step, ...]
    final: DiagStep | None
    program: RowProgram  # per-row matrices of steps + (final,), by index (sim_rows.py)


def evolve(plan: Plan, params: torch.Tensor, dtype: torch.dtype,
           final: bool = True) -> torch.Tensor:
    """States (b, 2**n) of the plan's template on parameter rows (b, P); the last diagonal run
    only with `final` (probabilities do not need it). The rows' matrices are built at once
    (`sim_rows.row_tables`), in parts of at most TABLE_ENTRIES numbers."""
    if params.shape[0] == 0:  # no rows (e.g. the shifted rows of a circuit without parameters)
        return torch.zeros(0, 2 ** plan.n_qubits, dtype=dtype, device=params.device)
    part = max(1, TABLE_ENTRIES // plan.program.row_entries)
    if params.shape[0] > part:
        return torch.cat([evolve(plan, p, dtype, final) for p in params.split(part)])
    rows = row_tables(plan.program, params, dtype)
    steps = list(zip(plan.steps, plan.program.ops[:len(plan.steps)], strict=True))
    if final and plan.final:
        steps.append((plan.final, plan.program.ops[-1]))
    state = None
    if steps and isinstance(steps[0][0], FuseStep):
        state = _fused_product_state(rows.runs[:, list(steps.pop(0)[1])], plan.steps[0], dtype,
                                     plan.n_qubits)
    if state is None:
        state = torch.zeros(params.shape[0], 2 ** plan.n_qubits, dtype=dtype, device=params.device)
        state[:, 0] = 1
    for step, ops in steps:
        state = _apply(step, ops, state, rows, plan.n_qubits)
    return state


def _apply(step: Step, ops, state: torch.Tensor, rows: RowTables, n: int) -> torch.Tensor:
    if isinstance(step, FuseStep):
        return apply_fused(state, step, rows.runs[:, list(ops)], n)
    if isinstance(step, DiagStep):
        return apply_diagonal(state, step, [rows.theta[:, list(a)] for a in ops])
    batch = state.shape[0]
    if isinstance(step, PermuteStep):
        return permute_qubits(state, step.axes, n)
    mat = step.const if ops is None else rows.blocks[ops[0]][:, ops[1]]
    return (mat @ state.reshape(batch, mat.shape[-1], -1)).reshape(batch, -1)


def permute_qubits(state: torch.Tensor, axes: tuple[int, ...], n: int) -> torch.Tensor:
    """The state with its qubit axes reordered (new axis a = old axis axes[a]); without autograd
    on the CPU by NumPy's strided copy (2-3x faster than torch's for 2**n axes of size 2)."""
    batch, dims = state.shape[0], (0, *(a + 1 for a in axes))
    if state.device.type == "cpu" and not state.requires_grad:
        moved = np.ascontiguousarray(state.numpy().reshape(batch, *(2,) * n).transpose(dims))
        return torch.from_numpy(moved).reshape(batch, -1)
    return state.reshape(batch, *(2,) * n).permute(dims).contiguous().reshape(batch, -1)


def chain_layouts(steps: list[Step], n: int, dtype: torch.dtype, device: str) -> list[Step]:
    """Keep one qubit order across blocks: before a block, one `PermuteStep` moves its qubits to
    the front (the other axes keep their order) unless they lead already; nothing moves them
    back. Diagonal runs are re-indexed at compile time to the order they meet; one-qubit runs
    and the end see the canonical order."""
    out, order = [], list(range(n))
    for step in steps:
        if isinstance(step, BlockStep):
            lead = list(step.qubits)
            order = _move(out, order, lead + [q for q in order if q not in lead])
        elif isinstance(step, FuseStep):
            order = _move(out, order, list(range(n)))
        elif isinstance(step, DiagStep) and order != list(range(n)):
            step = diagonal_step(list(step.gates), n, dtype, device, order)
        out.append(step)
    _move(out, order, list(range(n)))
    return out


def _move(out: list[Step], order: list[int], new: list[int]) -> list[int]:
    if new != order:
        out.append(PermuteStep(tuple(order.index(q) for q in new)))
    return new


# --- compiling ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def compile_plan(template: CircuitTemplate, dtype: torch.dtype, device: str) -> Plan:
    """The template's steps, tensors in `dtype`'s real type on `device` (cached)."""
    with torch.inference_mode(False):
        builder = _Builder(template.n_qubits, dtype, device)
        for gate in template.gates:
            builder.add(gate)
        builder.finish()
        steps = builder.steps
        final = steps.pop() if steps and isinstance(steps[-1], DiagStep) else None
        steps = chain_layouts(steps, template.n_qubits, dtype, device)
        program = compile_program([*steps, final], dtype, device)
        return Plan(template.n_qubits, tuple(steps), final, program)


class _Builder:
    """Walks the gates; each qubit is held by at most one of: its pending one-qubit run, an open
    block, the pending diagonal run. A gate comes after whatever holds its qubits."""

    def __init__(self, n_qubits: int, dtype: torch.dtype, device: str):
        self.n, self.dtype, self.device = n_qubits, dtype, device
        self.pending: dict[int, list[Gate]] = {}
        self.blocks: dict[int, _OpenBlock] = {}  # qubit -> the open block holding it
        self.diag: list[Gate] = []
        self.diag_qubits: set[int] = set()
        self.steps: list[Step] = []

    def add(self, gate: Gate) -> None:
        qubits = set(gate.qubits)
        if len(qubits) == 1 and gate.qubits[0] in self.blocks:
            self.blocks[gate.qubits[0]].gates.append(gate)
        elif is_diagonal(gate.name) and not qubits & self.blocks.keys():
            self.add_diagonal(gate, qubits)
        else:
            if qubits & self.diag_qubits:
                self.flush_diagonal()
            if len(qubits) == 1:
                self.pending.setdefault(gate.qubits[0], []).append(gate)
            else:
                self.add_to_block(gate, qubits)

    def add_diagonal(self, gate: Gate, qubits: set[int]) -> None:
        if len(qubits) == 1 and qubits <= self.pending.keys():
            self.pending[gate.qubits[0]].append(gate)
            return
        self.flush_runs(qubits & self.pending.keys())
        self.diag.append(gate)
        self.diag_qubits |= qubits

    def add_to_block(self, gate: Gate, qubits: set[int]) -> None:
        """Into the open blocks of its qubits, merged, while at most BLOCK_QUBITS; else those
        blocks are closed and the gate opens a new one (with its qubits' pending runs)."""
        touched = list({id(b): b for q in qubits if (b := self.blocks.get(q))}.values())
        union = qubits.union(*(b.qubits for b in touched))
        if len(union) > BLOCK_QUBITS:
            for block in touched:
                self.close(block)
            touched, union = [], qubits
        block = _OpenBlock(set(union), [g for b in touched for g in b.gates])
        for q in sorted(qubits - set().union(*(b.qubits for b in touched))):
            block.gates += self.pending.pop(q, [])
        block.gates.append(gate)
        for q in block.qubits:
            self.blocks[q] = block

    def close(self, block: _OpenBlock) -> None:
        for q in block.qubits:
            del self.blocks[q]
        self.steps.append(block_step(block, self.dtype, self.device))

    def finish(self) -> None:
        self.flush_runs(set(self.pending))
        for block in list({id(b): b for b in self.blocks.values()}.values()):
            self.close(block)
        self.flush_diagonal()

    def flush_runs(self, qubits: set[int]) -> None:
        """Apply the runs of `qubits`; every pending run when half the register has one (a
        Kronecker group costs little more than one qubit's pass)."""
        if not qubits:
            return
        if 2 * len(self.pending) >= self.n:
            qubits = set(self.pending)
        runs = tuple((q, tuple(self.pending.pop(q))) for q in sorted(qubits))
        self.steps.append(FuseStep(runs))

    def flush_diagonal(self) -> None:
        step = diagonal_step(self.diag, self.n, self.dtype, self.device) if self.diag else None
        if step is not None and (step.const is not None or step.groups):
            self.steps.append(step)
        self.diag, self.diag_qubits = [], set()


@dataclass
class _OpenBlock:
    qubits: set[int]
    gates: list[Gate]


def block_step(block: _OpenBlock, dtype: torch.dtype, device: str) -> BlockStep:
    """A closed block: its gates on local qubits (ascending), its matrix when constant."""
    qubits = tuple(sorted(block.qubits))
    local = {q: i for i, q in enumerate(qubits)}
    gates = tuple(Gate(g.name, tuple(local[q] for q in g.qubits), g.angles) for g in block.gates)
    step = BlockStep(qubits, gates, None)
    if all(a.is_const for g in gates for a in g.angles):
        empty = torch.zeros(1, 0, dtype=dtype.to_real(), device=device)
        step = BlockStep(qubits, gates, block_matrix(step, empty, dtype))
    return step


def diagonal_step(gates: list[Gate], n: int, dtype: torch.dtype, device: str,
                  order: list[int] | None = None) -> DiagStep:
    """The run in the layout whose axis a holds qubit order[a] (canonical by default): constant
    phases summed into one diagonal, parameterised gates grouped."""
    position = {q: a for a, q in enumerate(order or range(n))}
    const, params = np.zeros(2 ** n), []
    for gate in gates:
        slope, offset = diagonal_phases(gate.name)
        index = _local_index(n, tuple(position[q] for q in gate.qubits))
        const += offset[index]
        if gate.angles and gate.angles[0].is_const:
            const += gate.angles[0].offset * slope[index]
        elif gate.angles:
            params.append(gate)
    table = torch.tensor(np.exp(1j * const), dtype=dtype, device=device) if const.any() else None
    groups = tuple(_diag_group(g, n, position, dtype.to_real(), device) for g in _grouped(params))
    return DiagStep(tuple(gates), table, groups)


def _grouped(gates: list[Gate]) -> list[list[Gate]]:
    """Gates into groups whose qubits number at most DIAG_GROUP_QUBITS (first fit)."""
    groups: list[tuple[set[int], list[Gate]]] = []
    for gate in gates:
        fit = next((g for g in groups if len(g[0] | set(gate.qubits)) <= DIAG_GROUP_QUBITS), None)
        if fit is None:
            groups.append(fit := (set(), []))
        fit[0].update(gate.qubits)
        fit[1].append(gate)
    return [g for _, g in groups]


def _diag_group(gates: list[Gate], n: int, position: dict[int, int], real: torch.dtype,
                device: str) -> DiagGroup:
    axes = sorted({position[q] for g in gates for q in g.qubits})
    local = {a: i for i, a in enumerate(axes)}
    slopes = [diagonal_phases(g.name)[0][_local_index(
        len(axes), tuple(local[position[q]] for q in g.qubits))] for g in gates]
    shape = tuple(2 if a in local else 1 for a in range(n))
    return DiagGroup(tuple(g.angles[0] for g in gates),
                     torch.tensor(np.stack(slopes), dtype=real, device=device), shape)


def _local_index(n: int, qubits: tuple[int, ...]) -> np.ndarray:
    """(2**n,) index of each basis state into a gate's own basis (first qubit most significant)."""
    x, out = np.arange(2 ** n), np.zeros(2 ** n, dtype=np.int64)
    for q in qubits:
        out = (out << 1) | ((x >> (n - 1 - q)) & 1)
    return out


@functools.cache
def diagonal_phases(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(slope, offset) with the gate's diagonal = exp(i (slope * angle + offset))."""
    d0, d1 = (_diag_entries(name, t) for t in (0.0, 1.0))
    return np.angle(d1 / d0), np.angle(d0)


@functools.cache
def is_diagonal(name: str) -> bool:
    """Whether the gate is diagonal for every angle, with phases linear in its one angle."""
    spec = GATES[name]
    if spec.angles > 1:
        return False
    for t in (0.37, -1.3):
        full = _matrix(name, t)
        if np.abs(full - np.diag(np.diag(full))).max() > 1e-12:
            return False
    slope, offset = diagonal_phases(name)
    return bool(np.allclose(np.exp(1j * (slope * 0.37 + offset)), _diag_entries(name, 0.37)))


def _matrix(name: str, angle: float) -> np.ndarray:
    values = [torch.tensor([angle], dtype=torch.float64)] * GATES[name].angles
    return matrix(name, values, torch.complex128, torch.device("cpu"))[0].numpy()


def _diag_entries(name: str, angle: float) -> np.ndarray:
    return np.diag(_matrix(name, angle))


# --- applying ----------------------------------------------------------------------------

def apply_diagonal(state: torch.Tensor, step: DiagStep, thetas: list[torch.Tensor]) -> torch.Tensor:
    """The run's constant diagonal, then each group's (b, 2**m) phases broadcast over the state;
    `thetas` holds each group's angle values (b, G)."""
    in_place = not (state.requires_grad or any(t.requires_grad for t in thetas))
    if step.const is not None:
        state = state.mul_(step.const) if in_place else state * step.const
    batch = state.shape[0]
    for group, theta in zip(step.groups, thetas, strict=True):
        phase = theta.to(group.slopes.dtype) @ group.slopes
        table = torch.polar(torch.ones_like(phase), phase).to(state.dtype)
        view, table = state.view(batch, *(2,) * len(group.shape)), table.reshape(batch, *group.shape)
        state = (view.mul_(table) if in_place else view * table).reshape(batch, -1)
    return state


def apply_fused(state: torch.Tensor, step: FuseStep, runs: torch.Tensor, n: int) -> torch.Tensor:
    """Apply the runs (their products (b, R, 2, 2), in step.runs' order) as Kronecker groups:
    the hDQNN cycle when every qubit has one."""
    mats, batch = _by_qubit(step, runs), state.shape[0]
    if len(mats) == n:
        for start, size in zip(group_starts(rotation_groups(n)), rotation_groups(n), strict=True):
            kron = _kron([mats[q] for q in range(start, start + size)])
            state = apply_leading_group(state, kron.transpose(-1, -2).expand(batch, -1, -1), size)
        return state
    for start, size in _groups(sorted(mats)):
        kron = _kron([mats[q] for q in range(start, start + size)])
        if start + size == n and start > 0:
            kron = kron.transpose(-1, -2)
        state = apply_group(state, kron.expand(batch, -1, -1), start, size, n)
    return state


def _groups(qubits: list[int]) -> list[tuple[int, int]]:
    """(start, size) groups of at most GROUP_QUBITS over contiguous runs of sorted qubits."""
    runs: list[list[int]] = []
    for q in qubits:
        if runs and runs[-1][-1] == q - 1:
            runs[-1].append(q)
        else:
            runs.append([q])
    out = []
    for run in runs:
        sizes = default_groups(len(run), GROUP_QUBITS)
        out += [(run[0] + s, size) for s, size in zip(group_starts(sizes), sizes, strict=True)]
    return out


def _kron(mats: list[torch.Tensor]) -> torch.Tensor:
    """Kronecker product of (b or 1, 2, 2) matrices, first most significant: (b or 1, d, d)."""
    rows = max(m.shape[0] for m in mats)
    out = mats[0].expand(rows, -1, -1)
    for m in mats[1:]:
        out = kron_pair(out, m.expand(rows, -1, -1))
    return out


def _by_qubit(step: FuseStep, runs: torch.Tensor) -> dict[int, torch.Tensor]:
    return {q: runs[:, i] for i, (q, _) in enumerate(step.runs)}


def _fused_product_state(runs: torch.Tensor, step: FuseStep, dtype: torch.dtype,
                         n: int) -> torch.Tensor:
    """The first step on |0...0>: a product of each run's first column (|0> where none)."""
    batch = runs.shape[0]
    columns = torch.zeros(batch, n, 2, dtype=dtype, device=runs.device)
    columns[:, :, 0] = 1
    columns[:, [q for q, _ in step.runs]] = runs[:, :, :, 0]
    return product_state(columns)


def block_matrix(step: BlockStep, params: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The block's matrix (b or 1, d, d): its gates applied to the identity, whose d columns
    are read as k more (leading) qubits of one 2k-qubit state per row."""
    if step.const is not None:
        return step.const
    k = len(step.qubits)
    cols = torch.eye(2 ** k, dtype=dtype, device=params.device).reshape(1, -1)  # [column, row]
    for gate in step.gates:
        m = gate_matrix(gate, params, dtype)
        cols = cols.expand(max(cols.shape[0], m.shape[0]), -1)
        cols = apply_gate(cols, m, tuple(q + k for q in gate.qubits), 2 * k)
    return cols.reshape(-1, 2 ** k, 2 ** k).transpose(1, 2)


def apply_gate(state: torch.Tensor, mat: torch.Tensor, qubits: tuple[int, ...],
               n: int) -> torch.Tensor:
    """Apply a (b or 1, d, d) gate on `qubits` (first = most significant): the amplitudes are
    gathered with its qubits last (one index_select, several times faster than a permute of
    n axes of size 2), multiplied, and gathered back."""
    batch, k = state.shape[0], len(qubits)
    if k == 0:
        return state * mat[:, 0]
    if qubits == tuple(range(n - k, n)):
        return (state.reshape(batch, -1, 2 ** k) @ mat.transpose(-1, -2)).reshape(batch, -1)
    forward, back = qubits_last(n, qubits, str(state.device))
    moved = state.index_select(1, forward).reshape(batch, -1, 2 ** k)
    return (moved @ mat.transpose(-1, -2)).reshape(batch, -1).index_select(1, back)


def gate_matrix(gate: Gate, params: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(b, d, d) for a parameterised gate, (1, d, d) for a constant one."""
    angles = [_angle(a, params) for a in gate.angles]
    return matrix(gate.name, angles, dtype, params.device)


def _angle(angle: Angle, params: torch.Tensor) -> torch.Tensor:
    if angle.is_const:
        return torch.full((1,), angle.offset, dtype=params.dtype, device=params.device)
    return angle.values(params)


def moments_as_layers(template: CircuitTemplate) -> int:
    """hDQNN-equivalent layers of a template for depolarising noise: ceil(moments / 2)."""
    return max(1, math.ceil(template.depth()[0] / 2))
