"""Distances between measured counts and exact distributions, and latency percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qhil.quantum.bitstrings import (
    marginals_from_counts,
    probabilities_from_counts,
    probability_marginals,
)


@dataclass(frozen=True)
class SampleFidelity:
    """How close a batch's samples are to its exact distributions (the circuits' mean; None
    where the provider gave no counts). Not a gradient's fidelity (qhil.layers.fidelity)."""

    hellinger_fidelity: float | None
    tvd: float | None
    marginal_mae: float


def hellinger_fidelity(p: np.ndarray, q: np.ndarray) -> float:
    """(sum_i sqrt(p_i q_i))**2: 1 for equal distributions, 0 for disjoint ones."""
    return float(np.sum(np.sqrt(np.clip(p, 0, None) * np.clip(q, 0, None))) ** 2)


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Half the L1 distance: 0 for equal distributions, 1 for disjoint ones."""
    return float(0.5 * np.abs(p - q).sum())


def batch_fidelity(ideal: np.ndarray, marginals: np.ndarray,
                   counts: list[dict[str, int]] | None) -> SampleFidelity:
    """Compare a batch's result (marginals, optional counts) with its exact distributions."""
    exact = probability_marginals(ideal)
    n_qubits = exact.shape[1]
    if counts is not None:
        marginals = marginals_from_counts(counts, n_qubits)
    mae = float(np.abs(np.asarray(marginals) - exact).mean())
    if counts is None:
        return SampleFidelity(None, None, mae)
    measured = np.stack([probabilities_from_counts(c, n_qubits) for c in counts])
    hel, tvd = mean_distances(measured, ideal)
    return SampleFidelity(hel, tvd, mae)


def mean_distances(measured: np.ndarray, ideal: np.ndarray) -> tuple[float, float]:
    """Mean Hellinger fidelity and mean TVD over the rows of two (B, 2**n) arrays."""
    pairs = list(zip(measured, ideal, strict=True))
    return (float(np.mean([hellinger_fidelity(m, p) for m, p in pairs])),
            float(np.mean([total_variation(m, p) for m, p in pairs])))


def percentile(values: Sequence[float | None], q: float) -> float | None:
    """The q-th percentile (0..100) of the known values; None when there are none."""
    known = [v for v in values if v is not None]
    return float(np.percentile(known, q)) if known else None


def mean_or_none(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def shot_noise_fidelity(ideal: np.ndarray, shots: int, rng: np.random.Generator) -> SampleFidelity:
    """What a perfect device scores at this shot count: counts drawn from the exact distribution."""
    n_qubits = int(np.log2(ideal.shape[1]))
    counts = []
    for probs in ideal:
        drawn = rng.multinomial(shots, probs / probs.sum())
        counts.append({format(i, f"0{n_qubits}b"): int(c) for i, c in enumerate(drawn) if c})
    return batch_fidelity(ideal, probability_marginals(ideal), counts)
