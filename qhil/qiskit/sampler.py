"""`qhil.qiskit.Sampler`: Qiskit's `BaseSamplerV2` on a qhil provider (see the package docstring).

Each PUB becomes one template (its circuit without the final measurements) and a row per
parameter binding; PUBs of one width, parameter count and shot count share one SamplingRequest,
so a whole `run` is as few qhil jobs as the device's limits allow. Results are Qiskit's own
containers: a `BitArray` per classical register in a `DataBin` of the PUB's shape, shots in a
seeded random order; metadata carries the qhil job id, the cost and the round-trip latency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from qiskit.primitives import BaseSamplerV2, BitArray, DataBin, PrimitiveResult, SamplerPubResult
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.primitives.primitive_job import PrimitiveJob

from qhil.qiskit import _spending
from qhil.qiskit._circuits import MeasurePlan, shots_bits
from qhil.qiskit._grouping import PubBatch, group_rows


class Sampler(BaseSamplerV2):
    """Sample PUBs on `provider` (a profile name or path) through qhil's Dispatcher.

    Args:
        provider: the qhil profile ("local", "aer", "braket-local", "ibm-torino", a path).
        default_shots: shots of a PUB that names none.
        budget: dollars (or a `qhil.Budget`) this sampler may spend; required on a device that bills.
        ledger: an SQLite ledger file (a run folder's `ledger.sqlite`); in memory when None.
        yes: consent to spend on a device that bills (given once, here).
        ask: instead of `yes`, a callback asked once (it gets the question, returns the answer).
        seed: seeds the device's sampling where it takes a seed, and the shots' order.
        timeout_s: how long `result()` waits for one job.
    """

    def __init__(self, provider: str = "local", *, default_shots: int = 1024, budget: Any = None,
                 ledger: str | Path | None = None, yes: bool = False,
                 ask: Callable[[str], str] | None = None, seed: int | None = None,
                 timeout_s: float | None = None):
        self._dispatcher = _spending.open_primitives_dispatcher(provider, budget, ledger, yes, ask)
        self._default_shots = default_shots
        self._seed = seed
        self._timeout_s = timeout_s

    @property
    def dispatcher(self):
        """The Dispatcher (its `ledger` is the account of what this sampler bought)."""
        return self._dispatcher

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> PrimitiveJob:
        coerced = [SamplerPub.coerce(pub, shots or self._default_shots) for pub in pubs]
        plans = [MeasurePlan.of(pub.circuit) for pub in coerced]
        batches = group_rows(coerced, plans, self._seed)
        job = PrimitiveJob(self._run, coerced, plans, batches)
        job._submit()
        return job

    def _run(self, pubs: list[SamplerPub], plans: list[MeasurePlan],
             batches: list[PubBatch]) -> PrimitiveResult:
        results = _spending.run_all(self._dispatcher, [b.request for b in batches],
                                    self._timeout_s)
        rng = np.random.default_rng(self._seed)
        return PrimitiveResult([self._pub_result(i, pub, plans[i], batches, results, rng)
                                for i, pub in enumerate(pubs)], metadata={"version": 2})

    def _pub_result(self, index: int, pub: SamplerPub, plan: MeasurePlan, batches, results,
                    rng) -> SamplerPubResult:
        rows, meta = PubBatch.rows_of(index, batches, results)
        n = plan.template.n_qubits
        per_row = [plan.values(shots_bits(counts, n, rng)) for counts in rows]
        data = {name: _bit_array([r[name] for r in per_row], width, pub.shape)
                for name, width, _ in plan.registers}
        return SamplerPubResult(DataBin(**data, shape=pub.shape),
                                metadata={"shots": pub.shots, "circuit_metadata":
                                          pub.circuit.metadata, **meta})


def _bit_array(values: list[np.ndarray], num_bits: int, shape: tuple[int, ...]) -> BitArray:
    """Per-row shot values (uint64) as a BitArray of `shape`, big-endian bytes as Qiskit packs."""
    n_bytes = max(1, (num_bits + 7) // 8)
    stacked = np.stack(values) if values else np.zeros((0, 0), dtype=np.uint64)
    shifts = np.arange(n_bytes - 1, -1, -1, dtype=np.uint64) * np.uint64(8)
    packed = ((stacked[..., None] >> shifts) & np.uint64(0xFF)).astype(np.uint8)
    return BitArray(packed.reshape(*shape, *packed.shape[1:]), num_bits)
