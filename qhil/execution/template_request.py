"""The template side of SamplingRequest: validation, grouping rows by template, gate timing.

    check_template_request(request) -> (params (B, P), template_index (B,))   or raise
    template_rows(request) -> [(template, rows)]    templates in order, each with its rows
    timing_steps(template) -> (single-qubit steps, two-qubit steps) of one shot
    hdqnn_templates(n_qubits, cz) -> (templates, template_index)   one template per CZ structure
    hdqnn_arrays(request) -> (angles, cz) | None    an all-hDQNN request as the hDQNN arrays
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from qhil.errors import RequestValidationError

if TYPE_CHECKING:
    from qhil.execution.request import SamplingRequest
    from qhil.quantum.template import CircuitTemplate


def check_template_request(request: SamplingRequest) -> tuple[np.ndarray, np.ndarray]:
    """The request's params and template index, validated against its templates."""
    from qhil.quantum.template import CircuitTemplate

    if isinstance(request.templates, np.ndarray):
        raise RequestValidationError(
            "SamplingRequest takes templates and params; build one from hDQNN angles and CZ "
            "pairs with SamplingRequest.from_hdqnn(angles, cz, shots)")
    templates = tuple(request.templates)
    if not templates or not all(isinstance(t, CircuitTemplate) for t in templates):
        raise RequestValidationError("templates must be a non-empty list of CircuitTemplate")
    _same(templates, "n_qubits", "qubits")
    _same(templates, "n_params", "parameters")
    params = templates[0].check_params(request.params if request.params is not None else [])
    if params.shape[0] == 0:
        raise RequestValidationError("params must hold at least one row")
    return params, _index(request.template_index, len(templates), params.shape[0])


def _same(templates: tuple, attribute: str, what: str) -> None:
    values = sorted({getattr(t, attribute) for t in templates})
    if len(values) > 1:
        raise RequestValidationError(
            f"the templates of one request must share their number of {what}; got {values}")


def _index(index: np.ndarray | None, n_templates: int, batch: int) -> np.ndarray:
    if index is None:
        if n_templates > 1:
            raise RequestValidationError(
                f"{n_templates} templates need a template_index saying which row runs which")
        return np.zeros(batch, dtype=np.int64)
    out = np.ascontiguousarray(index, dtype=np.int64).reshape(-1)
    if out.shape[0] != batch:
        raise RequestValidationError(f"template_index has {out.shape[0]} rows, params {batch}")
    if out.size and (out.min() < 0 or out.max() >= n_templates):
        raise RequestValidationError(f"template_index values must lie in 0..{n_templates - 1}")
    return out


def template_rows(request: SamplingRequest) -> list[tuple[CircuitTemplate, list[int]]]:
    """Each template the request uses, with its rows in request order."""
    groups: dict[int, list[int]] = {}
    for row, index in enumerate(request.template_index.tolist()):
        groups.setdefault(index, []).append(row)
    return [(request.templates[i], rows) for i, rows in groups.items()]


def timing_steps(template: CircuitTemplate) -> tuple[int, int]:
    """(single-qubit steps, two-qubit steps) in series in one shot; an hDQNN layer counts as two
    single-qubit steps (RX, RY) and one step per CZ slot, as the hDQNN cost model does."""
    layout = template.hdqnn_layout
    if layout is not None:
        return 2 * layout.n_layers, layout.n_layers * layout.cz.shape[1]
    moments, two = template.depth()
    return moments - two, two


def equivalent_layers(request: SamplingRequest) -> int:
    """hDQNN-equivalent layers of the deepest template (for noise models fitted per layer)."""
    layers = []
    for template in request.templates:
        layout = template.hdqnn_layout
        layers.append(layout.n_layers if layout is not None
                      else max(1, math.ceil(template.depth()[0] / 2)))
    return max(layers)


def hdqnn_templates(n_qubits: int, cz: np.ndarray) -> tuple[list[CircuitTemplate], np.ndarray]:
    """cz (B, L, P, 2), already checked -> one hDQNN template per distinct row structure, in
    first-seen order, and each row's template index (B,)."""
    from qhil.quantum.template import CircuitTemplate

    batch = cz.shape[0]
    flat = cz.reshape(batch, -1)
    if flat.shape[1] == 0 or (flat == flat[:1]).all():  # fixed entanglers: one structure
        return CircuitTemplate.from_hdqnn_table(n_qubits, cz[:1]), np.zeros(batch, np.int64)
    keys = flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    templates = CircuitTemplate.from_hdqnn_table(n_qubits, cz[first[order]])
    return templates, rank[inverse.reshape(-1)].astype(np.int64)


def hdqnn_arrays(request: SamplingRequest) -> tuple[np.ndarray, np.ndarray] | None:
    """(angles (B, L, n, 2), cz (B, L, P, 2)) when every template of the request is an hDQNN
    template and all share their layer and pair counts; else None."""
    layouts = [t.hdqnn_layout for t in request.templates]
    if any(layout is None for layout in layouts):
        return None
    if len({layout.cz.shape for layout in layouts}) > 1:
        return None
    table = np.stack([layout.cz for layout in layouts])
    batch, layers = request.batch_size, layouts[0].n_layers
    angles = request.params.reshape(batch, layers, request.n_qubits, 2)
    return angles, table[request.template_index]
