"""Counts and marginals: conversions shared by every adapter. Bitstrings read qubit 0 first."""

from __future__ import annotations

import numpy as np


def counts_from_indices(indices: np.ndarray, n_qubits: int) -> list[dict[str, int]]:
    """Sampled basis indices (B, S) -> per circuit {bitstring: count}, bitstrings ascending."""
    rows = np.asarray(indices)
    if rows.ndim == 2 and 2 ** n_qubits <= max(64, rows.shape[1]):
        return _tallied(rows, n_qubits)
    out = []
    for row in rows:
        values, freq = np.unique(row, return_counts=True)
        out.append({format(int(v), f"0{n_qubits}b"): int(c) for v, c in zip(values, freq, strict=False)})
    return out


def _tallied(rows: np.ndarray, n_qubits: int) -> list[dict[str, int]]:
    """`counts_from_indices` by one bincount over a (B, 2**n) table: for registers with no
    more basis states than shots (or 64), where sorting each row costs more."""
    size, fmt = 2 ** n_qubits, f"0{n_qubits}b"
    flat = (rows + np.arange(rows.shape[0])[:, None] * size).ravel()
    table = np.bincount(flat, minlength=rows.shape[0] * size).reshape(-1, size)
    out = []
    for freq in table:
        seen = np.flatnonzero(freq)
        pairs = zip(seen.tolist(), freq[seen].tolist(), strict=True)
        out.append({format(v, fmt): c for v, c in pairs})
    return out


def marginals_from_counts(counts: list[dict[str, int]], n_qubits: int) -> np.ndarray:
    """Per circuit {bitstring (qubit 0 first): count} -> (B, n) fraction of shots reading 1."""
    out = np.zeros((len(counts), n_qubits))
    for row, table in enumerate(counts):
        total = sum(table.values())
        for bits, count in table.items():
            out[row] += count * (np.frombuffer(bits.encode(), dtype=np.uint8) == ord("1"))
        out[row] /= max(total, 1)
    return out


def probabilities_from_counts(counts: dict[str, int], n_qubits: int) -> np.ndarray:
    """{bitstring: count} -> (2**n,) empirical distribution, index big-endian (qubit 0 first)."""
    probs = np.zeros(2 ** n_qubits)
    total = sum(counts.values())
    for bits, count in counts.items():
        probs[int(bits, 2)] += count / max(total, 1)
    return probs


def probability_marginals(probabilities: np.ndarray) -> np.ndarray:
    """(B, 2**n) basis probabilities (qubit 0 the most significant bit) -> (B, n) P(qubit j reads
    1), in float64 (the torch simulator's own is statevector.marginals_from_probabilities)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n_qubits = int(np.log2(probabilities.shape[1]))
    index = np.arange(2 ** n_qubits)
    bits = (index[:, None] >> (n_qubits - 1 - np.arange(n_qubits))[None, :]) & 1
    return probabilities @ bits
