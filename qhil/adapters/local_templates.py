"""Template requests on the `local` provider: hDQNN templates through the simulator's structured
strategy (one batch over all their rows), all others through its general kernel, per template.

    hdqnn_batches(request) -> [HDQNNBatch]     rows of hDQNN templates, as angles and CZ pairs
    generic_groups(request) -> [(template, rows)]  every other template with its rows
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qhil.quantum.request import SamplingRequest, template_rows
from qhil.quantum.template import CircuitTemplate


@dataclass(frozen=True)
class HDQNNBatch:
    """Rows of hDQNN templates with one layer count, as the hDQNN kernel takes them."""

    rows: np.ndarray
    angles: np.ndarray  # (R, L, n, 2)
    cz: np.ndarray      # (R, L, P, 2), padded with (0, 0) no-gate pairs


def hdqnn_batches(request: SamplingRequest) -> list[HDQNNBatch]:
    """Every row whose template has an hDQNN layout, one batch per layer count (usually one).
    An all-hDQNN request uses its own `hdqnn_arrays` (kept from `from_hdqnn`, not rebuilt)."""
    arrays = request.hdqnn_arrays
    if arrays is not None:
        return [HDQNNBatch(np.arange(request.batch_size), *arrays)]
    by_layers: dict[int, list[int]] = {}
    for index, template in enumerate(request.templates):
        if template.hdqnn_layout is not None:
            by_layers.setdefault(template.hdqnn_layout.n_layers, []).append(index)
    return [_batch(request, indices) for indices in by_layers.values()]


def _batch(request: SamplingRequest, indices: list[int]) -> HDQNNBatch:
    rows = np.flatnonzero(np.isin(request.template_index, indices))
    layouts = [request.templates[i].hdqnn_layout for i in indices]
    pairs = max(1, *(layout.cz.shape[1] for layout in layouts))
    n, layers = request.n_qubits, layouts[0].n_layers
    table = np.zeros((len(request.templates), layers, pairs, 2), dtype=np.int64)
    for index, layout in zip(indices, layouts, strict=True):
        table[index, :, :layout.cz.shape[1]] = layout.cz
    angles = request.params[rows].reshape(len(rows), layers, n, 2)
    return HDQNNBatch(rows, angles, table[request.template_index[rows]])


def generic_groups(request: SamplingRequest) -> list[tuple[CircuitTemplate, list[int]]]:
    """Templates without an hDQNN layout, each with its rows."""
    return [(t, rows) for t, rows in template_rows(request) if t.hdqnn_layout is None]
