"""Batched state-vector kernels in torch: the arithmetic under every embedded simulation.

Conventions: a batch of states is a (B, 2**n) complex tensor; qubit 0 is the most significant
bit of the basis index (big-endian, as in Braket), so bitstring "q0 q1 ... q(n-1)" reads in
index order. Every kernel is differentiable through torch autograd.
"""

from __future__ import annotations

import functools
import math

import torch


def _constant_table(fn):
    """Cache a constant lookup table, built outside inference mode.

    A tensor first created under `torch.inference_mode` (as the local provider runs) could never
    take part in autograd afterwards; building the cached table with inference mode switched off
    keeps it usable by both.
    """

    @functools.lru_cache(maxsize=32)
    @functools.wraps(fn)
    def build(*args):
        with torch.inference_mode(False):
            return fn(*args)

    return build


FULL_KRON_BYTES = 2**20  # every layer's group matrices at once, at most (see `group_factors`)


def rx_ry_matrices(angles: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """RY(b) @ RX(a) for angles (..., 2) = (a, b); returns (..., 2, 2) of `dtype`."""
    half = angles.to(_real(dtype)) / 2
    ca, cb = torch.cos(half[..., 0]), torch.cos(half[..., 1])
    sa, sb = torch.sin(half[..., 0]), torch.sin(half[..., 1])
    re = torch.stack([cb * ca, -sb * ca, sb * ca, cb * ca], dim=-1)
    im = torch.stack([sb * sa, -cb * sa, -cb * sa, -sb * sa], dim=-1)
    return torch.complex(re, im).reshape(*angles.shape[:-1], 2, 2)


def u3_matrices(theta: torch.Tensor, phi: torch.Tensor, lam: torch.Tensor,
                dtype: torch.dtype) -> torch.Tensor:
    """Qiskit's U3(theta, phi, lam) for broadcastable angle tensors; returns (..., 2, 2)."""
    real = _real(dtype)
    theta, phi, lam = (t.to(real) for t in (theta, phi, lam))
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    zero = torch.zeros_like(c)
    e = lambda ang: torch.polar(torch.ones_like(ang), ang)  # noqa: E731
    rows = [torch.complex(c, zero), -e(lam) * s, e(phi) * s, e(phi + lam) * c]
    return torch.stack(rows, dim=-1).reshape(*c.shape, 2, 2).to(dtype)


def product_state(first_columns: torch.Tensor) -> torch.Tensor:
    """Kronecker product of per-qubit states (B, n, 2) -> (B, 2**n), qubit 0 most significant.

    Built as the outer product of the two halves' states (wide inner dimensions); the result is
    always contiguous, as batched matmuls need.
    """
    n = first_columns.shape[1]
    if n == 1:
        return first_columns[:, 0, :].contiguous()
    left, right = product_state(first_columns[:, : n // 2]), product_state(first_columns[:, n // 2:])
    return (left[:, :, None] * right[:, None, :]).reshape(left.shape[0], -1)


def kron_batch(mats: torch.Tensor) -> torch.Tensor:
    """Kronecker product of (B, k, 2, 2) along k -> (B, 2**k, 2**k), first factor most significant."""
    out = mats[:, 0]
    for j in range(1, mats.shape[1]):
        m = mats[:, j]
        b, d = out.shape[0], out.shape[1]
        out = (out[:, :, None, :, None] * m[:, None, :, None, :]).reshape(b, 2 * d, 2 * d)
    return out


def apply_single_qubit_layer(state: torch.Tensor, mats: torch.Tensor,
                             groups: tuple[int, ...]) -> torch.Tensor:
    """Apply per-sample 2x2 gates mats (B, n, 2, 2) to every qubit of state (B, 2**n).

    Qubits are fused into `groups` (sizes summing to n); each group becomes one 2**k x 2**k
    Kronecker matrix applied by one batched matmul (see `apply_group`).
    """
    n = mats.shape[1]
    for start, size in zip(group_starts(groups), groups, strict=True):
        group = mats[:, start:start + size]
        if start + size == n and start > 0:
            group = group.transpose(-1, -2)
        state = apply_group(state, kron_batch(group), start, size, n)
    return state


def gate_parts(angles: torch.Tensor, real_dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary parts of RY(b) @ RX(a) for angles (B, L, n, 2), batch LAST.

    Returns two (L, n, 2, 2, B) tensors. Batch-last real arithmetic vectorises far better on
    CPU than batch-first complex broadcasting, so the Kronecker factors are built this way.
    """
    half = angles.to(real_dtype).permute(1, 2, 3, 0) / 2
    cos, sin = torch.cos(half), torch.sin(half)
    cc, sc = cos[:, :, 1] * cos[:, :, 0], sin[:, :, 1] * cos[:, :, 0]
    cs, ss = cos[:, :, 1] * sin[:, :, 0], sin[:, :, 1] * sin[:, :, 0]
    shape = (*cc.shape[:2], 2, 2, cc.shape[-1])
    real = torch.stack([cc, -sc, sc, cc], dim=2).reshape(shape)
    imag = torch.stack([ss, -cs, -cs, -ss], dim=2).reshape(shape)
    return real, imag


def group_kron(parts: tuple[torch.Tensor, torch.Tensor], start: int, size: int,
               transpose: bool = False) -> torch.Tensor:
    """Kronecker matrices of qubits start..start+size-1 from `gate_parts`: (L, B, 2**k, 2**k).

    `transpose` gives the transposed matrices (for multiplying from the right).
    """
    factors = group_factors(parts, start, size, transpose)
    return factors[0] if len(factors) == 1 else kron_pair(*factors)


def group_factors(parts: tuple[torch.Tensor, torch.Tensor], start: int, size: int,
                  transpose: bool = False) -> list[torch.Tensor]:
    """One or two (L, B, d, d) complex factors whose Kronecker product is the group's matrix.

    The group is multiplied out in batch-last real arithmetic (cheap for every layer at once)
    while every layer's full matrices stay small (`FULL_KRON_BYTES`: up to three qubits always,
    four on a chunk of a few rows); a larger group is left as two halves for `kron_pair`, which
    is best done one layer at a time (the full matrices of every layer would be a large,
    cache-hostile temporary).
    """
    layers, batch = parts[0].shape[0], parts[0].shape[-1]
    if size > 3 and layers * batch * 8 * 4 ** size > FULL_KRON_BYTES:
        half = size // 2
        return [group_kron(parts, start, half, transpose),
                group_kron(parts, start + half, size - half, transpose)]
    real, imag = (p[:, start:start + size] for p in parts)
    if transpose:
        real, imag = real.transpose(2, 3), imag.transpose(2, 3)
    real, imag = _kron_batch_last(real, imag)
    return [torch.complex(real, imag).permute(0, 3, 1, 2).contiguous()]


def kron_pair(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Per-sample Kronecker product of (..., a, a) and (..., b, b) -> (..., a*b, a*b)."""
    a, b = left.shape[-1], right.shape[-1]
    prod = left[..., :, None, :, None] * right[..., None, :, None, :]
    return prod.reshape(*left.shape[:-2], a * b, a * b)


def _kron_batch_last(real: torch.Tensor, imag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L, k, 2, 2, B) real/imag parts -> Kronecker product over k, (L, 2**k, 2**k, B) each."""
    out_re, out_im = real[:, 0], imag[:, 0]
    for j in range(1, real.shape[1]):
        layers, d, batch = out_re.shape[0], out_re.shape[1], out_re.shape[-1]
        a, b = out_re[:, :, None, :, None], out_im[:, :, None, :, None]
        c, e = real[:, j, None, :, None, :], imag[:, j, None, :, None, :]
        shape = (layers, 2 * d, 2 * d, batch)
        out_re, out_im = (a * c - b * e).reshape(shape), (a * e + b * c).reshape(shape)
    return out_re, out_im


def apply_group(state: torch.Tensor, kron: torch.Tensor, start: int, size: int,
                n: int) -> torch.Tensor:
    """Apply per-sample (B, 2**k, 2**k) matrices to qubits start..start+k-1 of state (B, 2**n).

    One batched matmul on a view of the state, never a transpose of it: the first group
    multiplies from the left, the last from the right (pass the TRANSPOSED matrices), and a
    middle group repeats its (small) matrix over the leading index.
    """
    batch, width = state.shape[0], 2 ** size
    lead, trail = 2 ** start, 2 ** (n - start - size)
    if lead == 1:
        return torch.bmm(kron, state.reshape(batch, width, trail)).reshape(batch, -1)
    if trail == 1:
        return torch.bmm(state.reshape(batch, lead, width), kron).reshape(batch, -1)
    repeated = kron[:, None].expand(batch, lead, width, width).reshape(-1, width, width)
    moved = torch.bmm(repeated, state.reshape(batch * lead, width, trail))
    return moved.reshape(batch, -1)


def apply_leading_group(state: torch.Tensor, kron_t: torch.Tensor, size: int) -> torch.Tensor:
    """Apply per-sample matrices to the `size` LEADING qubits and move them to the end.

    state (B, 2**n) is read as X (B, 2**size, rest); the result is (K X)^T = X^T K^T written
    contiguously as (B, rest, 2**size): one batched matmul whose first operand is a transposed
    view (no copy), with the group's qubits now least significant. Pass `kron_t` = K^T
    (B, 2**size, 2**size). Applying the groups of a layer in order, each from the front, brings
    the qubit order back to the original after the last group (`rotation_groups`).
    """
    batch = state.shape[0]
    moved = torch.bmm(state.view(batch, 2 ** size, -1).transpose(1, 2), kron_t)
    return moved.reshape(batch, -1)


def rotation_groups(n_qubits: int) -> tuple[int, ...]:
    """Qubit groups for `apply_leading_group`: at most 4 qubits.

    A group of k qubits costs 2**k complex multiply-adds per amplitude, and n / k passes over
    the state per layer. Measured on a 2-core AVX-512 CPU (benchmarks/sweep_rotation_groups.py,
    benchmarks/results/sweep_rotation_groups.json): 4 is the fastest at n = 14, 16 and 20 and
    within 20% of the fastest at n = 13 and 18; 6 (the earlier choice above 12 qubits) is
    1.2-1.7x slower than 4 at n = 16 to 20.
    """
    return default_groups(n_qubits, 4)


def cz_parity(n_qubits: int, pairs: torch.Tensor) -> torch.Tensor:
    """Diagonal of a product of CZ gates as parity bits: pairs (U, P, 2) -> (U, 2**n) bool.

    Entry [u, x] is True where basis state x takes a -1 from structure u (an odd count of
    pairs with both qubits at 1); a pair (i, i) is no gate. Each pair is one broadcast AND of
    the basis indices with the pair's two-bit mask (no gathers, no n*n table), so memory stays
    O(U * 2**n) for any pattern.
    """
    index = basis_index(n_qubits, str(pairs.device))
    shift = n_qubits - 1 - pairs
    masks = (1 << shift[..., 0]) | (1 << shift[..., 1])  # (U, P)
    parity = None
    for p in range(pairs.shape[1]):
        mask = torch.where(pairs[:, p, 0] == pairs[:, p, 1], -1, masks[:, p])[:, None]
        both = (index & mask) == mask  # mask -1 (no gate) matches no index
        parity = both if parity is None else parity.bitwise_xor_(both)
    return parity


def cz_signs(n_qubits: int, pairs: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The CZ diagonals of structures pairs (U, P, 2) as +-1 of `dtype`, (U, 2**n).

    One data-chosen pair per row on up to 12 qubits is a row gather from the cached
    `cz_sign_table_as` (at most 12 * 12 * 4096 entries); anything else is built by `cz_parity`.
    """
    if pairs.shape[1] == 1 and n_qubits <= 12:
        table = cz_sign_table_as(n_qubits, str(pairs.device), dtype).reshape(n_qubits ** 2, -1)
        return table.index_select(0, pairs[:, 0, 0] * n_qubits + pairs[:, 0, 1])
    minus, plus = (torch.tensor(v, dtype=dtype, device=pairs.device) for v in (-1, 1))
    return torch.where(cz_parity(n_qubits, pairs), minus, plus)


@_constant_table
def shared_cz_signs(n_qubits: int, pairs: tuple[tuple[int, int], ...], device: str,
                    dtype: torch.dtype) -> torch.Tensor:
    """Cached (2**n,) diagonal of one fixed CZ structure (the ring, the chain, any pattern)."""
    table = torch.tensor(pairs or ((0, 0),), dtype=torch.long, device=device)[None]
    return cz_signs(n_qubits, table, dtype)[0]


def negate_cz_rows_(state: torch.Tensor, pairs: torch.Tensor, n_qubits: int,
                    shared: bool = False) -> torch.Tensor:
    """In place: each row of state (b, 2**n) times the CZ diagonal of its own pairs (b, P, 2).

    A CZ(i, k) negates the quarter of the amplitudes with both qubits at 1: one strided view per
    pair (per row, or for the whole chunk when every row has the same pairs, `shared`), no sign
    vector built or read (the broadcast bit tests of `cz_signs` cost more than the gates on wide
    registers). A pair (i, i) is no gate; a repeated pair cancels.
    """
    rows = [state] if shared else list(state[:, None])
    for part, part_pairs in zip(rows, pairs[:1].tolist() if shared else pairs.tolist(), strict=True):
        for i, k in part_pairs:
            if i != k:
                lo, hi = min(i, k), max(i, k)
                shape = (part.shape[0], 2 ** lo, 2, 2 ** (hi - lo - 1), 2, 2 ** (n_qubits - hi - 1))
                part.view(shape)[:, :, 1, :, 1].neg_()
    return state


def group_starts(groups: tuple[int, ...]) -> list[int]:
    """First qubit of each group."""
    return [sum(groups[:i]) for i in range(len(groups))]


@_constant_table
def cz_sign_table(n_qubits: int, device: str) -> torch.Tensor:
    """(n, n, 2**n) of +-1: entry [i, k] is the diagonal of CZ(i, k); all ones when i == k."""
    bits = basis_bits(n_qubits, device).to(torch.int8)
    both = bits[:, :, None] & bits[:, None, :]
    signs = 1 - 2 * both.to(torch.float32)
    eye = torch.eye(n_qubits, dtype=torch.bool, device=device)
    signs[:, eye] = 1.0
    return signs.permute(1, 2, 0).contiguous()


@_constant_table
def cz_sign_table_as(n_qubits: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    """`cz_sign_table` converted once to `dtype` (the state's complex dtype)."""
    return cz_sign_table(n_qubits, device).to(dtype)


@_constant_table
def basis_index(n_qubits: int, device: str) -> torch.Tensor:
    """(1, 2**n) int64: every basis index, for broadcast bit tests."""
    return torch.arange(2 ** n_qubits, device=device)[None]


@_constant_table
def basis_bits(n_qubits: int, device: str) -> torch.Tensor:
    """(2**n, n) float32 of the bits of every basis index; column j is qubit j."""
    index = torch.arange(2 ** n_qubits, device=device)
    shifts = torch.arange(n_qubits - 1, -1, -1, device=device)
    return ((index[:, None] >> shifts) & 1).to(torch.float32)


def marginals_from_probabilities(probs: torch.Tensor) -> torch.Tensor:
    """P(qubit j reads 1) from basis probabilities (B, 2**n) -> (B, n), in the dtype of `probs`.

    The 2**n probabilities are laid out as a (2**h, 2**(n-h)) grid, h = n // 2: its row sums give
    the high qubits' marginals and its column sums the low ones'. No float32 sum then runs over
    more than ~2**(n/2) terms (torch sums them cascaded), where `probs @ bits` summed 2**(n-1)
    in a row and drifted 3e-5 at n=16; this is as close as a float64 sum (4e-7) and faster.
    """
    n = int(math.log2(probs.shape[-1]))
    high = n // 2
    grid = probs.reshape(probs.shape[0], 2 ** high, 2 ** (n - high))
    device = str(probs.device)
    return torch.cat([grid.sum(2) @ basis_bits(high, device).to(probs.dtype),
                      grid.sum(1) @ basis_bits(n - high, device).to(probs.dtype)], dim=1)


def default_groups(n_qubits: int, group_size: int = 5) -> tuple[int, ...]:
    """Split n qubits into near-equal groups of at most `group_size`."""
    count = max(1, math.ceil(n_qubits / group_size))
    base, extra = divmod(n_qubits, count)
    return tuple(base + (1 if i < extra else 0) for i in range(count))


def _real(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.complex128 else torch.float32


def apply_controlled_gate(state: torch.Tensor, mats: torch.Tensor, control: int, target: int,
                          n: int) -> torch.Tensor:
    """Apply a controlled 2x2 gate: mats (B, 2, 2) (or (2, 2)) on `target` where `control` is 1.

    |0><0| (x) I + |1><1| (x) U on state (B, 2**n), qubit 0 most significant; differentiable
    (no in-place writes). The half of the state with the control at 0 is left untouched.
    """
    lo, hi = sorted((control, target))
    batch = state.shape[0]
    view = state.reshape(batch, 2 ** lo, 2, 2 ** (hi - lo - 1), 2, 2 ** (n - hi - 1))
    c_axis, t_axis = (2, 4) if control < target else (4, 2)
    off, on = view.select(c_axis, 0), view.select(c_axis, 1)
    t_on = t_axis if t_axis < c_axis else t_axis - 1
    mats = mats.expand(batch, 2, 2) if mats.dim() == 2 else mats
    moved = torch.einsum("b...j,bij->b...i", torch.movedim(on, t_on, -1), mats.to(state.dtype))
    on = torch.movedim(moved, -1, t_on)
    return torch.stack([off, on], dim=c_axis).reshape(batch, -1)
