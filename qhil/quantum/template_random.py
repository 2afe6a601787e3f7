"""Seeded random circuit templates over the whole gate set (tests, benchmarks, `compare` probes)."""

from __future__ import annotations

import math

import numpy as np

from qhil.quantum.template import GATES, Angle, CircuitTemplate, Gate


def random_template(rng: np.random.Generator, n_qubits: int, n_gates: int,
                    n_params: int | None = None, max_arity: int = 3) -> CircuitTemplate:
    """`n_gates` gates drawn uniformly from GATES (those on at most `max_arity` qubits that fit
    n_qubits), each angle drawn by `random_angle`."""
    names = [name for name in GATES if GATES[name].qubits <= min(n_qubits, max_arity)]
    n_params = n_params if n_params is not None else max(1, n_gates // 2)
    gates = []
    for _ in range(n_gates):
        name = names[rng.integers(len(names))]
        spec = GATES[name]
        qubits = tuple(int(q) for q in rng.choice(n_qubits, size=spec.qubits, replace=False))
        angles = tuple(random_angle(rng, n_params) for _ in range(spec.angles))
        gates.append(Gate(name, qubits, angles))
    return CircuitTemplate(n_qubits, gates, n_params=n_params, name="random")


def random_angle(rng: np.random.Generator, n_params: int) -> Angle:
    """In equal parts: a constant, one parameter, an affine function of one, or a polynomial of
    up to three terms, each a coefficient (sometimes a multiple of pi) times up to two parameters."""
    kind = rng.integers(4)
    column = int(rng.integers(n_params))
    if kind == 0:
        return Angle.const(float(rng.uniform(-np.pi, np.pi)))
    if kind == 1:
        return Angle(column)
    if kind == 2:
        return Angle(column, _coefficient(rng), _coefficient(rng))
    terms = {}
    for _ in range(int(rng.integers(1, 4))):
        degree = int(rng.integers(0, 3))
        terms[tuple(sorted(int(j) for j in rng.integers(n_params, size=degree)))] = _coefficient(rng)
    return Angle.poly(terms)


def _coefficient(rng: np.random.Generator) -> float:
    if rng.integers(4) == 0:
        return float(rng.choice([-1, -0.5, 0.5, 1])) * math.pi
    return float(np.round(rng.uniform(-1.5, 1.5), 3))


def random_params(rng: np.random.Generator, template: CircuitTemplate, batch: int) -> np.ndarray:
    """(batch, P) parameters uniform in [-pi, pi)."""
    return rng.uniform(-np.pi, np.pi, size=(batch, template.n_params))
