"""Per-row matrices of a plan's parameterised blocks: every block of one width at once.

A block (sim_general.py's `BlockStep`) is a few multi-qubit gates with one-qubit runs between
them, on k <= 4 qubits. Built gate by gate and block by block (its gates applied to the identity)
this was a few small torch calls per gate, per block and per chunk. Here:
- every one-qubit run of a block is folded into a neighbouring multi-qubit gate of its qubit
  (a run before a gate multiplies it from the right, a block's trailing run the last gate on
  its qubit from the left): fused gates `post @ G @ pre`, built for every gate of one arity at
  once from the gate bank and the run products (`FusedGates`);
- the blocks of one width k are built together, slot by slot (`Slot`): each slot applies one
  fused gate (or the identity) of one arity to every block's d*d "columns" (the identity read
  as a 2k-qubit state, as `sim_general.block_matrix` does): a gather that brings the gate's
  qubits last, one batched matmul, a gather back. A block's gates keep their order; a slot's
  arity is the one most blocks need next.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from qhil.quantum.statevector import _constant_table, kron_pair


@dataclass(frozen=True)
class FusedGates:
    """The fused gates of one arity m: bank-m ids (N,), run ids applied before and after on
    each of their qubits (N, m) (the identity run where none)."""

    gates: torch.Tensor
    pre: torch.Tensor
    post: torch.Tensor


@dataclass(frozen=True)
class Slot:
    """One fused gate of `arity` per block (ids (nb,), N_arity the identity), with the gather
    maps (nb, d*d) that bring its qubits last and back."""

    arity: int
    ops: torch.Tensor
    forward: torch.Tensor
    back: torch.Tensor


@dataclass(frozen=True)
class BlockProgram:
    """Fused gates per arity and, per block width k, the slots building its blocks."""

    fused: dict[int, FusedGates]
    widths: dict[int, tuple[Slot, ...]]

    @property
    def row_entries(self) -> int:
        """Numbers per row of the blocks' columns (for sizing batches)."""
        return sum(len(s[0].ops) * 4 ** k for k, s in self.widths.items() if s)


def block_matrices(program: BlockProgram, banks: dict[int, torch.Tensor],
                   runs: torch.Tensor) -> dict[int, torch.Tensor]:
    """Per width k, every block's matrix (B, nb, d, d), in the order they were compiled."""
    fused = {m: _fused(f, banks[m], runs) for m, f in program.fused.items()}
    return {k: _build(slots, fused, k) for k, slots in program.widths.items()}


def _fused(f: FusedGates, bank: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
    """(B, N + 1, d, d): post @ gate @ pre per fused gate, then the identity."""
    pre, post = (functools.reduce(kron_pair, [runs[:, ids[:, j]] for j in range(ids.shape[1])])
                 for ids in (f.pre, f.post))
    mats = post @ bank[:, f.gates] @ pre
    eye = torch.eye(mats.shape[-1], dtype=mats.dtype, device=mats.device)
    return torch.cat([mats, eye.expand(mats.shape[0], 1, -1, -1)], dim=1)


def _build(slots: tuple[Slot, ...], fused: dict[int, torch.Tensor], k: int) -> torch.Tensor:
    d2, blocks = 4 ** k, len(slots[0].ops)
    batch = next(iter(fused.values())).shape[0]
    cols = _identity_columns(k, *_kind(fused))
    cols = cols.expand(batch, blocks, d2)
    for slot in slots:
        gate = fused[slot.arity][:, slot.ops]
        moved = cols.gather(2, slot.forward.expand(batch, -1, -1))
        moved = moved.view(batch, blocks, -1, 2 ** slot.arity) @ gate.transpose(-1, -2)
        cols = moved.reshape(batch, blocks, d2).gather(2, slot.back.expand(batch, -1, -1))
    return cols.view(batch, blocks, 2 ** k, 2 ** k).transpose(-1, -2)


def _kind(fused: dict[int, torch.Tensor]) -> tuple[torch.dtype, str]:
    any_fused = next(iter(fused.values()))
    return any_fused.dtype, str(any_fused.device)


@_constant_table
def _identity_columns(k: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.eye(2 ** k, dtype=dtype, device=device).reshape(1, 1, -1)


@_constant_table
def qubits_last(n: int, qubits: tuple[int, ...], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Index maps that move `qubits` to the least significant positions (in their order), and
    back: state[:, forward] has them last; moved[:, back] is the original order."""
    rest = [q for q in range(n) if q not in qubits]
    forward = torch.arange(2 ** n, device=device).reshape((2,) * n).permute(*rest, *qubits)
    forward = forward.reshape(-1)
    return forward, torch.argsort(forward)


# --- compiling ---------------------------------------------------------------------------

def fold_runs(ops: list[tuple]) -> list[list]:
    """A block's ops (1, run id, (q,)) and (m, gate id, qubits) in time order -> fused gates
    [m, gate id, qubits, pre run ids, post run ids] (None where no run)."""
    out, last, before = [], {}, {}
    for m, index, qubits in ops:
        if m == 1:
            before.setdefault(qubits[0], []).append(index)
            continue
        pre = [_one(before.pop(q, [])) for q in qubits]
        out.append([m, index, qubits, pre, [None] * m])
        for j, q in enumerate(qubits):
            last[q] = (len(out) - 1, j)
    for q, trailing in before.items():
        op, j = last[q]
        out[op][4][j] = _one(trailing)
    return out


def _one(run_ids: list[int]) -> int | None:
    if len(run_ids) > 1:
        raise ValueError("one run per qubit between multi-qubit gates")
    return run_ids[0] if run_ids else None


def compile_blocks(blocks: list[tuple[int, list[list]]], identity_run: int,
                   device: str) -> tuple[BlockProgram, list[tuple[int, int]]]:
    """The BlockProgram of blocks (width k, fused gates); each block's (k, position)."""
    fused: dict[int, list] = {}
    ids = [[_fused_id(fused, g) for g in gates] for _, gates in blocks]
    widths, where = {}, []
    for k in sorted({k for k, _ in blocks}):
        members = [i for i, (w, _) in enumerate(blocks) if w == k]
        where += [(i, (k, j)) for j, i in enumerate(members)]
        plans = [[(g[0], ids[i][a], g[2]) for a, g in enumerate(blocks[i][1])] for i in members]
        widths[k] = _slots(plans, k, {m: len(v) for m, v in fused.items()}, device)
    programs = {m: _fused_gates(v, identity_run, device) for m, v in fused.items()}
    return BlockProgram(programs, widths), [p for _, p in sorted(where)]


def _fused_id(fused: dict[int, list], gate: list) -> int:
    fused.setdefault(gate[0], []).append(gate)
    return len(fused[gate[0]]) - 1


def _fused_gates(gates: list[list], identity_run: int, device: str) -> FusedGates:
    def runs(column: int) -> torch.Tensor:
        return torch.tensor([[identity_run if r is None else r for r in g[column]] for g in gates],
                            dtype=torch.long, device=device)

    ids = torch.tensor([g[1] for g in gates], dtype=torch.long, device=device)
    return FusedGates(ids, runs(3), runs(4))


def _slots(plans: list[list[tuple]], k: int, identity: dict[int, int],
           device: str) -> tuple[Slot, ...]:
    """Slots for blocks of width k: each takes, per block, its next gate if of the slot's arity
    (the one most blocks need next; the larger on a tie) or the identity."""
    at, slots = [0] * len(plans), []
    while any(a < len(p) for a, p in zip(at, plans, strict=True)):
        need = [p[a][0] for a, p in zip(at, plans, strict=True) if a < len(p)]
        arity = max(set(need), key=lambda m: (need.count(m), m))
        chosen = []
        for b, plan in enumerate(plans):
            if at[b] < len(plan) and plan[at[b]][0] == arity:
                chosen.append(plan[at[b]][1:])
                at[b] += 1
            else:
                chosen.append((identity[arity], tuple(range(arity))))
        slots.append(_slot(arity, chosen, k, device))
    return tuple(slots)


def _slot(arity: int, chosen: list[tuple], k: int, device: str) -> Slot:
    maps = [qubits_last(2 * k, tuple(q + k for q in qubits), device) for _, qubits in chosen]
    ops = torch.tensor([i for i, _ in chosen], dtype=torch.long, device=device)
    return Slot(arity, ops, torch.stack([f for f, _ in maps]), torch.stack([b for _, b in maps]))
