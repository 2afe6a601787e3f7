"""The general kernel's per-row tables: every gate matrix of a batch, built vectorised.

A compiled plan (sim_general.py) reads, per parameter row, its angles and gate matrices. Built
one gate at a time these cost a handful of small torch calls per gate and per chunk, more than
the state passes on the benchmarks' random templates. Here they are compiled once per plan
(`compile_program`) into a `RowProgram` and evaluated for a batch in a few calls (`row_tables`):
- every parameterised angle of the template in ONE `AngleTable`: the monomials' products per
  degree, then one matmul with the coefficient matrix (B, F) @ (F, A);
- the gate matrices in one bank per arity (B, N, 2**m, 2**m): one call of the gate's matrix
  function per gate name on (B, G) angles; constant gates built once at compile time; equal
  gates (same name and angles) share an entry;
- every run of one-qubit gates (FuseStep runs and those inside blocks) multiplied out together:
  one gather of (B, R, L, 2, 2), identity-padded, and L - 1 batched 2x2 products.
Steps read their matrices by index (`ops`, aligned with the plan's steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from qhil.quantum.sim_blocks import BlockProgram, block_matrices, compile_blocks, fold_runs
from qhil.quantum.template import Angle, Gate
from qhil.quantum.template_gates import GATES, matrix

IDENTITY = Gate("id", (0,))


@dataclass(frozen=True)
class AngleTable:
    """Angles A = features @ coef + offset; features are the monomials (per degree k, (F_k, k)
    column indices), in the order of coef's rows."""

    degrees: tuple[torch.Tensor, ...]
    coef: torch.Tensor
    offset: torch.Tensor

    def values(self, params: torch.Tensor) -> torch.Tensor:
        """(B, A) angle values for params (B, P)."""
        if not self.degrees:
            return self.offset.to(params.dtype).expand(params.shape[0], -1)
        feats = [params[:, index].prod(-1) for index in self.degrees]
        feats = feats[0] if len(feats) == 1 else torch.cat(feats, dim=1)
        return torch.addmm(self.offset.to(params.dtype), feats, self.coef.to(params.dtype))


@dataclass(frozen=True)
class NameGroup:
    """The parameterised gates of one name in a bank: angle-table indices (G, angles)."""

    name: str
    angles: torch.Tensor


@dataclass(frozen=True)
class Bank:
    """One arity's gate matrices: per name group, then the constant ones (N_c, d, d)."""

    groups: tuple[NameGroup, ...]
    const: torch.Tensor | None


@dataclass(frozen=True)
class RowProgram:
    """A plan's per-row tables: angles, banks by arity, the one-qubit runs (R, L) as bank-1
    indices (run 0 the identity), the parameterised blocks, and per step its ops (FuseStep:
    run ids; BlockStep: (width, position) in `blocks`, None when constant; DiagStep: per group
    angle ids; others: None)."""

    table: AngleTable
    banks: dict[int, Bank]
    runs: torch.Tensor
    blocks: BlockProgram
    ops: tuple
    row_entries: int  # numbers per row in its RowTables (for sizing batches)


@dataclass(frozen=True)
class RowTables:
    """A batch's values of a RowProgram: theta (B, A), banks {m: (B, N, d, d)}, runs (B, R, 2, 2),
    block matrices {width: (B, nb, d, d)}."""

    theta: torch.Tensor
    banks: dict[int, torch.Tensor]
    runs: torch.Tensor
    blocks: dict[int, torch.Tensor]


def row_tables(program: RowProgram, params: torch.Tensor, dtype: torch.dtype) -> RowTables:
    """Every angle, gate matrix and one-qubit run product of the batch's rows."""
    theta = program.table.values(params)
    banks = {m: _bank(bank, theta, dtype) for m, bank in program.banks.items()}
    runs = _run_products(banks[1], program.runs)
    return RowTables(theta, banks, runs, block_matrices(program.blocks, banks, runs))


def _bank(bank: Bank, theta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    parts = [name_matrices(g.name, theta[:, g.angles], dtype) for g in bank.groups]
    if bank.const is not None:
        parts.append(bank.const.expand(theta.shape[0], -1, -1, -1))
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def name_matrices(name: str, angles: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, G, d, d) matrices of G gates `name` from their angles (B, G, a)."""
    entries = GATES[name].matrix(*angles.unbind(-1))
    shape, d = angles.shape[:2], len(entries)
    flat = [e.to(dtype).expand(shape) if isinstance(e, torch.Tensor)
            else torch.full(shape, complex(e), dtype=dtype, device=angles.device)
            for row in entries for e in row]
    return torch.stack(flat, dim=-1).reshape(*shape, d, d)


def _run_products(bank: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
    """(B, R, 2, 2): each run's gates multiplied in time order (later gates on the left)."""
    gates = bank[:, runs]  # (B, R, L, 2, 2)
    total = gates[:, :, 0]
    for step in range(1, runs.shape[1]):
        total = gates[:, :, step] @ total
    return total


# --- compiling ---------------------------------------------------------------------------

def compile_program(steps: list, dtype: torch.dtype, device: str) -> RowProgram:
    """The RowProgram of a plan's steps (FuseStep, BlockStep, DiagStep, PermuteStep)."""
    builder = _ProgramBuilder()
    ops = tuple(builder.step_ops(step) for step in steps)
    return builder.program(ops, dtype, device)


class _ProgramBuilder:
    """Collects angles, gates (keyed by name and angles) and runs; ids resolved in `program`."""

    def __init__(self):
        self.angles: dict[Angle, int] = {}
        self.gates: dict[int, dict[tuple, int]] = {}  # arity -> key -> provisional id
        self.runs: list[tuple[int, ...]] = [(self.gate_id(IDENTITY),)]  # run 0: the identity
        self.blocks: list[tuple[int, list[list]]] = []  # (width, fused gates) per block

    def step_ops(self, step):
        kind = type(step).__name__
        if kind == "FuseStep":
            return tuple(self.run_id(gates) for _, gates in step.runs)
        if kind == "BlockStep":
            return None if step.const is not None else self.block(step)
        if kind == "DiagStep":
            return tuple(tuple(self.angle_id(a) for a in g.angles) for g in step.groups)
        return None

    def block(self, step) -> tuple[str, int]:
        """The block's index in `blocks`, its ops folded (`fold_runs`)."""
        self.blocks.append((len(step.qubits), fold_runs(self.block_ops(step.gates))))
        return ("block", len(self.blocks) - 1)

    def block_ops(self, gates) -> list[tuple]:
        """Ops of a block: one-qubit gates merged into runs per qubit, flushed before the next
        gate on their qubit (runs on other qubits commute with it)."""
        ops, open_runs = [], {}
        for gate in gates:
            if len(gate.qubits) == 1:
                open_runs.setdefault(gate.qubits[0], []).append(gate)
                continue
            for q in gate.qubits:
                if q in open_runs:
                    ops.append((1, self.run_id(open_runs.pop(q)), (q,)))
            ops.append((len(gate.qubits), self.gate_id(gate), gate.qubits))
        return ops + [(1, self.run_id(run), (q,)) for q, run in sorted(open_runs.items())]

    def angle_id(self, angle: Angle) -> int:
        return self.angles.setdefault(angle, len(self.angles))

    def gate_id(self, gate: Gate) -> int:
        if all(a.is_const for a in gate.angles):
            key = (True, gate.name, tuple(a.offset for a in gate.angles))
        else:
            key = (False, gate.name, tuple(self.angle_id(a) for a in gate.angles))
        bank = self.gates.setdefault(len(gate.qubits), {})
        return bank.setdefault(key, len(bank))

    def run_id(self, gates) -> int:
        self.runs.append(tuple(self.gate_id(g) for g in gates))
        return len(self.runs) - 1

    def program(self, ops: tuple, dtype: torch.dtype, device: str) -> RowProgram:
        """Banks ordered per arity as (parameterised, by name) then constants; ids remapped."""
        banks, remap = {}, {}
        for arity, keys in self.gates.items():
            order = sorted(keys, key=lambda k: (k[0], k[1], keys[k]))
            remap[arity] = {keys[k]: i for i, k in enumerate(order)}
            banks[arity] = _compile_bank(order, dtype, device)
        ident = remap[1][0]
        width = max((len(r) for r in self.runs), default=1)
        runs = [[remap[1][g] for g in r] + [ident] * (width - len(r)) for r in self.runs]
        runs_t = torch.tensor(runs or [[ident]], dtype=torch.long, device=device)
        blocks = [(k, [[m, remap[m][i], q, pre, post] for m, i, q, pre, post in gates])
                  for k, gates in self.blocks]
        block_program, where = compile_blocks(blocks, 0, device)
        ops = tuple(where[o[1]] if isinstance(o, tuple) and o and o[0] == "block" else o
                    for o in ops)
        entries = sum(len(keys) * 4 ** m for m, keys in self.gates.items()) + 8 * len(runs)
        entries += block_program.row_entries + len(self.angles)
        table = angle_table(list(self.angles), dtype.to_real(), device)
        return RowProgram(table, banks, runs_t, block_program, ops, entries)


def _compile_bank(keys: list[tuple], dtype: torch.dtype, device: str) -> Bank:
    groups: dict[str, list] = {}
    const = []
    for is_const, name, angles in keys:
        if is_const:
            values = [torch.tensor([v], dtype=torch.float64) for v in angles]
            const.append(matrix(name, values, torch.complex128, torch.device("cpu"))[0])
        else:
            groups.setdefault(name, []).append(angles)
    named = tuple(NameGroup(name, torch.tensor(a, dtype=torch.long, device=device))
                  for name, a in groups.items())
    table = torch.stack(const).to(dtype=dtype, device=device)[None] if const else None
    return Bank(named, table)


def angle_table(angles: list[Angle], real: torch.dtype, device: str) -> AngleTable:
    """The AngleTable of `angles` (constant ones included: offset only)."""
    monomials = sorted({m for a in angles for m, _ in a.terms if m}, key=lambda m: (len(m), m))
    row = {m: i for i, m in enumerate(monomials)}
    coef = torch.zeros(len(monomials), len(angles), dtype=torch.float64)
    for j, a in enumerate(angles):
        for m, c in a.terms:
            if m:
                coef[row[m], j] = c
    offset = torch.tensor([a.offset for a in angles], dtype=torch.float64)
    degrees = tuple(torch.tensor([m for m in monomials if len(m) == k], device=device)
                    for k in sorted({len(m) for m in monomials}))
    return AngleTable(degrees, coef.to(real).to(device), offset.to(real).to(device))
