"""`qhil.qiskit.Estimator`: Qiskit's `BaseEstimatorV2` for Pauli observables, on `Sampler`.

The terms of a PUB's observables are grouped into qubit-wise commuting measurement bases; each
basis is the PUB's circuit with its basis change appended (H for X, Sdg = RZ(-pi/2) then H for Y) and is
sampled with `ceil(1 / precision**2)` shots on every parameter binding; a term's expectation
is the mean parity of its qubits' readings. `evs` and `stds` have the PUB's broadcast shape;
`stds` is the shot-noise standard error (terms taken as independent).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from qiskit.primitives import BaseEstimatorV2, DataBin, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.primitive_job import PrimitiveJob

from qhil.qiskit.sampler import Sampler

DEFAULT_PRECISION = 1 / 64  # 4,096 shots per basis and binding


class Estimator(BaseEstimatorV2):
    """Expectation values of Pauli observables on `provider`, through qhil (see `Sampler` for
    the arguments: provider, budget, ledger, yes, ask, seed, timeout_s)."""

    def __init__(self, provider: str = "local", *, default_precision: float = DEFAULT_PRECISION,
                 **sampler_options: Any):
        self._sampler = Sampler(provider, **sampler_options)
        self._default_precision = default_precision

    @property
    def dispatcher(self):
        return self._sampler.dispatcher

    def run(self, pubs: Iterable[Any], *, precision: float | None = None) -> PrimitiveJob:
        coerced = [EstimatorPub.coerce(p, precision or self._default_precision) for p in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult:
        plans = [_Plan.of(pub) for pub in pubs]
        sampled = self._sampler.run([pub for plan in plans for pub in plan.sampler_pubs()]).result()
        results, start = [], 0
        for plan in plans:
            stop = start + len(plan.bases)
            results.append(plan.result(list(sampled)[start:stop]))
            start = stop
        return PrimitiveResult(results, metadata={"version": 2})


class _Plan:
    """One estimator PUB: its measurement bases and how each observable reads them."""

    def __init__(self, pub: EstimatorPub, bases: list[str], terms: list[list]):
        self.pub, self.bases, self.terms = pub, bases, terms

    @classmethod
    def of(cls, pub: EstimatorPub) -> _Plan:
        n = pub.circuit.num_qubits
        observables = [pub.observables[i] for i in np.ndindex(pub.observables.shape)]
        bases: list[str] = []
        terms = [[(_place(label, bases), label, coeff) for label, coeff in obs.items()]
                 for obs in observables]
        return cls(pub, bases or ["I" * n], terms)

    def sampler_pubs(self) -> list[tuple]:
        shots = max(1, math.ceil(1 / self.pub.precision ** 2))
        values = self.pub.parameter_values
        return [(_measured(self.pub.circuit, basis), values, shots) for basis in self.bases]

    def result(self, sampled: list) -> PubResult:
        shape = self.pub.shape
        bits = [_bits(s) for s in sampled]  # per basis: (*param shape, shots, n) 0/1
        obs_index = np.arange(len(self.terms)).reshape(self.pub.observables.shape)
        obs_index = np.broadcast_to(obs_index, shape)
        pshape = self.pub.parameter_values.shape
        evs, stds = np.zeros(shape), np.zeros(shape)
        for idx in np.ndindex(shape):
            row = idx[len(idx) - len(pshape):] if pshape else ()
            evs[idx], stds[idx] = _expectation(self.terms[obs_index[idx]], bits, row)
        return PubResult(DataBin(evs=evs, stds=stds, shape=shape),
                         metadata={"target_precision": self.pub.precision,
                                   "shots": bits[0].shape[-2], **sampled[0].metadata})


def _place(label: str, bases: list[str]) -> int:
    """The index of a basis that measures every non-identity letter of `label` (qubit 0 is
    the label's last character, as Qiskit writes Paulis); a new basis when none does."""
    for i, basis in enumerate(bases):
        if all(a == "I" or b in ("I", a) for a, b in zip(label, basis, strict=True)):
            bases[i] = "".join(b if a == "I" else a for a, b in zip(label, basis, strict=True))
            return i
    bases.append(label)
    return len(bases) - 1


def _measured(circuit, basis: str):
    """The circuit with the basis change for `basis` and a measurement of every qubit."""
    out = circuit.copy()
    for qubit, letter in enumerate(reversed(basis)):
        if letter == "Y":
            out.rz(-math.pi / 2, qubit)  # Sdg up to a global phase
        if letter in "XY":
            out.h(qubit)
    out.measure_all()
    return out


def _bits(pub_result) -> np.ndarray:
    """(*shape, shots, n) 0/1 readings of `measure_all`'s register, qubit k in column k."""
    array = pub_result.data.meas
    n = array.num_bits
    unpacked = np.unpackbits(array.array, axis=-1, bitorder="big")[..., -n:]
    return unpacked[..., ::-1]


def _expectation(terms: list, bits: list[np.ndarray], row: tuple) -> tuple[float, float]:
    value, variance = 0.0, 0.0
    for basis, label, coeff in terms:
        readings = bits[basis][row]
        qubits = [q for q, letter in enumerate(reversed(label)) if letter != "I"]
        parity = 1.0 - 2.0 * (readings[:, qubits].sum(axis=1) % 2)
        mean = float(parity.mean()) if qubits else 1.0
        value += float(np.real(coeff)) * mean
        variance += float(np.abs(coeff)) ** 2 * (1 - mean ** 2) / readings.shape[0]
    return value, math.sqrt(variance)
