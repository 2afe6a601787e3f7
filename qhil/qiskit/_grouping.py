"""PUB rows into SamplingRequests: one request per (width, parameter count, shots) group, one
template per PUB circuit, one row per parameter binding (PUB order, then row-major)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from qhil.quantum.request import SamplingRequest


@dataclass(frozen=True)
class PubBatch:
    """One request and, for each PUB it carries, the rows that are that PUB's."""

    request: SamplingRequest
    rows: dict[int, np.ndarray]  # PUB index -> row indices in the request

    @staticmethod
    def rows_of(index: int, batches: list[PubBatch], results: list) -> tuple[list[dict], dict]:
        """The counts of PUB `index`'s rows, and the metadata of the job that carried it."""
        for batch, (result, cost_usd) in zip(batches, results, strict=True):
            if index in batch.rows:
                counts = [result.counts[r] for r in batch.rows[index]]
                return counts, job_metadata(result, cost_usd)
        raise KeyError(index)


def job_metadata(result, cost_usd: Decimal) -> dict:
    """The qhil side of a PUB's metadata: which job carried it, its cost and latency."""
    return {"qhil_job_id": result.job_id, "qhil_provider": result.provider,
            "latency_s": result.timings.round_trip_s, "cost_usd": str(cost_usd)}


def group_rows(pubs: list, plans: list, seed: int | None) -> list[PubBatch]:
    """The requests of a run: PUBs of one (width, parameter count, shots) share one."""
    groups: dict[tuple, list[int]] = {}
    for i, (pub, plan) in enumerate(zip(pubs, plans, strict=True)):
        key = (plan.template.n_qubits, plan.template.n_params, pub.shots)
        groups.setdefault(key, []).append(i)
    return [_batch(members, pubs, plans, seed) for members in groups.values()]


def _batch(members: list[int], pubs: list, plans: list, seed: int | None) -> PubBatch:
    params, index, rows, start = [], [], {}, 0
    for slot, i in enumerate(members):
        values = pubs[i].parameter_values.as_array(pubs[i].circuit.parameters)
        flat = values.reshape(int(np.prod(pubs[i].shape)), plans[i].template.n_params)
        params.append(flat)
        index.append(np.full(flat.shape[0], slot))
        rows[i] = np.arange(start, start + flat.shape[0])
        start += flat.shape[0]
    request = SamplingRequest.from_templates(
        [plans[i].template for i in members], np.concatenate(params), pubs[members[0]].shots,
        seed, np.concatenate(index), tags={"purpose": "qiskit-primitive"})
    return PubBatch(request, rows)
