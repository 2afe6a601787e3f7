"""Seeded random circuit templates over the whole gate set (tests, benchmarks, `compare` probes)."""

from __future__ import annotations

import numpy as np

from qhil.quantum.template import GATES, Angle, CircuitTemplate, Gate


def random_template(rng: np.random.Generator, n_qubits: int, n_gates: int,
                    n_params: int | None = None) -> CircuitTemplate:
    """`n_gates` gates drawn uniformly from GATES; each angle a constant, a parameter column, or
    an affine function of one, drawn in equal parts."""
    names = [name for name in GATES if GATES[name][0] <= n_qubits]
    n_params = n_params if n_params is not None else max(1, n_gates // 2)
    gates = []
    for _ in range(n_gates):
        name = names[rng.integers(len(names))]
        arity, n_angles = GATES[name]
        qubits = tuple(int(q) for q in rng.choice(n_qubits, size=arity, replace=False))
        gates.append(Gate(name, qubits, tuple(_angle(rng, n_params) for _ in range(n_angles))))
    return CircuitTemplate(n_qubits, gates, n_params=n_params, name="random")


def _angle(rng: np.random.Generator, n_params: int) -> Angle:
    kind = rng.integers(3)
    column = int(rng.integers(n_params))
    if kind == 0:
        return Angle.const(float(rng.uniform(-np.pi, np.pi)))
    if kind == 1:
        return Angle(column)
    return Angle(column, float(np.round(rng.uniform(-2, 2), 3)), float(np.round(rng.uniform(-1, 1), 3)))


def random_params(rng: np.random.Generator, template: CircuitTemplate, batch: int) -> np.ndarray:
    """(batch, P) parameters uniform in [-pi, pi)."""
    return rng.uniform(-np.pi, np.pi, size=(batch, template.n_params))
