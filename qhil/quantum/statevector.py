"""Batched state-vector kernels in torch: the arithmetic under every embedded simulation.

Conventions: a batch of states is a (B, 2**n) complex tensor; qubit 0 is the most significant
bit of the basis index (big-endian, as in Braket), so bitstring "q0 q1 ... q(n-1)" reads in
index order. Every kernel is differentiable through torch autograd.
"""

from __future__ import annotations

import functools
import math

import torch


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
    """Kronecker product of per-qubit states (B, n, 2) -> (B, 2**n), qubit 0 most significant."""
    state = first_columns[:, 0, :]
    for j in range(1, first_columns.shape[1]):
        state = (state.unsqueeze(-1) * first_columns[:, j, None, :]).reshape(state.shape[0], -1)
    return state


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
    Kronecker matrix applied by one batched matmul. The first group multiplies from the left and
    the last from the right, so a two-group split needs no transposes at all.
    """
    batch, n, starts = state.shape[0], mats.shape[1], _starts(groups)
    if len(groups) == 1:
        return torch.bmm(kron_batch(mats), state.unsqueeze(-1)).reshape(batch, -1)
    first, last = groups[0], groups[-1]
    state = torch.bmm(kron_batch(mats[:, :first]), state.reshape(batch, 2 ** first, -1))
    for start, size in zip(starts[1:-1], groups[1:-1]):
        state = _apply_middle(state, kron_batch(mats[:, start:start + size]), start, size, n)
    kron_last = kron_batch(mats[:, n - last:])
    state = torch.bmm(state.reshape(batch, -1, 2 ** last), kron_last.transpose(1, 2))
    return state.reshape(batch, -1)


def _apply_middle(state: torch.Tensor, kron: torch.Tensor, start: int, size: int,
                  n: int) -> torch.Tensor:
    batch = state.shape[0]
    lead, width, trail = 2 ** start, 2 ** size, 2 ** (n - start - size)
    moved = state.reshape(batch, lead, width, trail).transpose(1, 2).reshape(batch, width, -1)
    moved = torch.bmm(kron, moved).reshape(batch, width, lead, trail)
    return moved.transpose(1, 2).reshape(batch, -1)


def _starts(groups: tuple[int, ...]) -> list[int]:
    return [sum(groups[:i]) for i in range(len(groups))]


@functools.lru_cache(maxsize=32)
def cz_sign_table(n_qubits: int, device: str) -> torch.Tensor:
    """(n, n, 2**n) of +-1: entry [i, k] is the diagonal of CZ(i, k); all ones when i == k."""
    bits = basis_bits(n_qubits, device).to(torch.int8)
    both = bits[:, :, None] & bits[:, None, :]
    signs = 1 - 2 * both.to(torch.float32)
    eye = torch.eye(n_qubits, dtype=torch.bool, device=device)
    signs[:, eye] = 1.0
    return signs.permute(1, 2, 0).contiguous()


@functools.lru_cache(maxsize=32)
def basis_bits(n_qubits: int, device: str) -> torch.Tensor:
    """(2**n, n) float32 of the bits of every basis index; column j is qubit j."""
    index = torch.arange(2 ** n_qubits, device=device)
    shifts = torch.arange(n_qubits - 1, -1, -1, device=device)
    return ((index[:, None] >> shifts) & 1).to(torch.float32)


def marginals_from_probabilities(probs: torch.Tensor) -> torch.Tensor:
    """P(qubit j reads 1) from basis probabilities (B, 2**n) -> (B, n)."""
    n = int(math.log2(probs.shape[-1]))
    return probs @ basis_bits(n, str(probs.device)).to(probs.dtype)


def default_groups(n_qubits: int, group_size: int = 5) -> tuple[int, ...]:
    """Split n qubits into near-equal groups of at most `group_size`."""
    count = max(1, math.ceil(n_qubits / group_size))
    base, extra = divmod(n_qubits, count)
    return tuple(base + (1 if i < extra else 0) for i in range(count))


def _real(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.complex128 else torch.float32
