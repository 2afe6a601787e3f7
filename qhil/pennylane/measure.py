"""A qhil result -> PennyLane results: each circuit's counts become samples (shots, wires), and
PennyLane's own measurement processes (`process_samples`) turn them into expval, var, probs,
counts and sample, per shot-vector bin and per broadcast element.

    shot_rows(counts, rng)                    {bitstring: count} -> (shots, n) 0/1, shuffled
    tape_result(tape, samples, wires)          samples: one (shots, n) array per tape row
    exact_result(tape, probabilities, wires)   analytic: one (2**n,) distribution per tape row

In analytic mode the provider's exact basis-state probabilities p stand for the state: the tape
ends with the gates that rotate its observables to the computational basis, so every measurement
left (expval, var, probs) is diagonal and reads the same from the real amplitudes sqrt(p) as
from the state itself; PennyLane's `process_state` computes it.
"""

from __future__ import annotations

import numpy as np
from pennylane.tape import QuantumScript
from pennylane.wires import Wires

from qhil.errors import ProviderError


def shot_rows(counts: dict[str, int] | None, rng: np.random.Generator) -> np.ndarray:
    """(shots, n) samples, qubit 0 first, in random order (a shot vector's bins are slices)."""
    if counts is None:
        raise ProviderError("the provider returned no counts; the qhil device needs them (set "
                            "the profile's options.counts = true)")
    keys = list(counts)
    bits = np.array([[c == "1" for c in key] for key in keys], dtype=np.int64)
    return rng.permutation(np.repeat(bits, [counts[k] for k in keys], axis=0))


def tape_result(tape: QuantumScript, samples: list[np.ndarray], wires: Wires):
    """The tape's result; a broadcast tape's results stack its elements on a leading axis."""
    results = [_one(tape, rows, wires) for rows in samples]
    return _stack(results) if tape.batch_size else results[0]


def exact_result(tape: QuantumScript, probabilities: list[np.ndarray], wires: Wires):
    """The tape's analytic result; a broadcast tape's results stack its elements."""
    results = [_exact(tape, p, wires) for p in probabilities]
    return _stack(results) if tape.batch_size else results[0]


def _exact(tape: QuantumScript, probabilities: np.ndarray, wires: Wires):
    amplitudes = np.sqrt(np.clip(probabilities, 0.0, None))
    values = tuple(mp.process_state(amplitudes, wires) for mp in tape.measurements)
    return values[0] if len(values) == 1 else values


def _one(tape: QuantumScript, samples: np.ndarray, wires: Wires):
    bins = []
    for lower, upper in tape.shots.bins():
        values = tuple(mp.process_samples(samples[lower:upper], wires)
                       for mp in tape.measurements)
        bins.append(values[0] if len(values) == 1 else values)
    return tuple(bins) if tape.shots.has_partitioned_shots else bins[0]


def _stack(items: list):
    """Per broadcast element results -> one result with the elements on a leading axis."""
    if isinstance(items[0], tuple):
        return tuple(_stack(list(parts)) for parts in zip(*items, strict=True))
    if isinstance(items[0], dict):
        return tuple(items)
    return np.stack(items)
