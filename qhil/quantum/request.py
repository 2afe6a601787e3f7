"""SamplingRequest: a validated batch of circuits, the unit every provider accepts.

One kind: circuit templates (`qhil.CircuitTemplate`) with a (B, P) parameter array, row b running
`templates[template_index[b]]` on `params[b]`. hDQNN circuits (angles (B, L, n, 2) and CZ pairs
(B, L, P, 2)) become one `CircuitTemplate.from_hdqnn` template per distinct CZ structure
(`SamplingRequest.from_hdqnn`); a request of such templates keeps the digest earlier versions gave
the same angles and CZ pairs, so their ledgers and run journals still answer.

The template side (validation, grouping rows by template, gate timing):
    check_template_request(request) -> (params (B, P), template_index (B,))   or raise
    template_rows(request) -> [(template, rows)]    templates in order, each with its rows
    timing_steps(template) -> (single-qubit steps, two-qubit steps) of one shot
    hdqnn_templates(n_qubits, cz) -> (templates, template_index)   one template per CZ structure
    hdqnn_arrays(request) -> (angles, cz) | None    an all-hDQNN request as the hDQNN arrays
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from qhil.errors import RequestValidationError
from qhil.quantum.template import CircuitTemplate


@dataclass(frozen=True)
class SamplingRequest:
    """A batch of B circuits, validated on construction.

    Attributes:
        templates: the circuit templates (all of one width and parameter count); a single
            template is taken as a one-element tuple.
        params: (B, P) float64 parameter rows.
        shots: shots per circuit, or None for exact marginals (simulators only).
        seed: seed for providers that accept one; None lets the provider choose.
        template_index: (B,) int64, the template each row runs (None: template 0 for every row).
        tags: free-form labels carried into the ledger (run id, purpose).
        counts: ask for per-circuit counts; False lets a simulator skip building them (devices
            return them anyway). It does not change the marginals, so it is not in the digest.
    """

    templates: tuple[CircuitTemplate, ...]
    params: np.ndarray
    shots: int | None
    seed: int | None = None
    template_index: np.ndarray | None = None
    tags: dict[str, str] = field(default_factory=dict)
    counts: bool = True

    def __post_init__(self) -> None:

        if isinstance(self.templates, CircuitTemplate):
            object.__setattr__(self, "templates", (self.templates,))
        params, index = check_template_request(self)
        object.__setattr__(self, "templates", tuple(self.templates))
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "template_index", index)
        _check_shots(self.shots)
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise RequestValidationError(f"seed must be a non-negative integer, got {self.seed!r}")

    @classmethod
    def from_templates(cls, templates: CircuitTemplate | list[CircuitTemplate] | tuple,
                       params: np.ndarray, shots: int | None, seed: int | None = None,
                       template_index: np.ndarray | None = None, tags: dict[str, str] | None = None,
                       counts: bool = True) -> SamplingRequest:
        """Row b runs `templates[template_index[b]]` (default: template 0) with `params[b]`."""
        return cls(templates, params, shots, seed, template_index, dict(tags or {}), counts)

    @classmethod
    def from_hdqnn(cls, angles: np.ndarray, cz: np.ndarray, shots: int | None,
                   seed: int | None = None, tags: dict[str, str] | None = None,
                   counts: bool = True) -> SamplingRequest:
        """hDQNN circuits: angles (B, L, n, 2), per layer and qubit the RX then RY angle in
        radians, and cz (B, L, P, 2), per layer P CZ pairs after the rotations ((i, i) is no
        gate). One `CircuitTemplate.from_hdqnn` per distinct CZ structure, in first-seen order;
        params are the angles in (layer, qubit, RX/RY) order."""

        angles = np.ascontiguousarray(angles, dtype=np.float64)
        cz = np.ascontiguousarray(cz, dtype=np.int64)
        _check_shapes(angles, cz)
        templates, index = hdqnn_templates(angles.shape[2], cz)
        request = cls(templates, angles.reshape(angles.shape[0], -1), shots, seed, index,
                      dict(tags or {}), counts)
        return request._knowing(angles, cz)

    def _knowing(self, angles: np.ndarray, cz: np.ndarray) -> SamplingRequest:
        """Fill the `hdqnn_arrays` cache with arrays known equal to what it would compute."""
        self.__dict__["hdqnn_arrays"] = (angles, cz)
        return self

    def relabelled(self, tags: dict[str, str] | None = None,
                   counts: bool | None = None) -> SamplingRequest:
        """This request with other tags and/or counts flag, not validated again: neither changes
        the circuits or the digest (`dataclasses.replace` would check every row anew). What
        this request has cached (`hdqnn_arrays`) carries over."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        if tags is not None:
            copy.__dict__["tags"] = dict(tags)
        if counts is not None:
            copy.__dict__["counts"] = bool(counts)
        return copy

    @property
    def batch_size(self) -> int:
        return self.params.shape[0]

    @property
    def n_layers(self) -> int:
        """The deepest template's hDQNN-equivalent layer count (its layers for hDQNN templates)."""
        return equivalent_layers(self)

    @property
    def n_qubits(self) -> int:
        return self.templates[0].n_qubits

    @property
    def total_shots(self) -> int:
        return 0 if self.shots is None else self.shots * self.batch_size

    def structure_keys(self) -> list[bytes]:
        """One key per circuit (its template's key); equal keys share one circuit structure."""
        keys = [t.key for t in self.templates]
        return [keys[i] for i in self.template_index]

    def structures(self) -> dict[bytes, list[int]]:
        """Row indices grouped by circuit structure, in first-seen order."""
        groups: dict[bytes, list[int]] = {}
        for row, key in enumerate(self.structure_keys()):
            groups.setdefault(key, []).append(row)
        return groups

    @cached_property
    def hdqnn_arrays(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(angles (B, L, n, 2), cz (B, L, P, 2)) when every template is an hDQNN template of one
        layer and pair count, else None (the module's `hdqnn_arrays`); `from_hdqnn` keeps the
        arrays it was given."""
        return hdqnn_arrays(self)

    def digest(self) -> str:
        """Stable hash of everything that determines the result (for the result store). An
        hDQNN request hashes its angles and CZ pairs, as versions with an hDQNN request kind did."""
        h = hashlib.sha256()
        arrays = self.hdqnn_arrays
        if arrays is None:
            parts = (*(t.key for t in self.templates), self.params.tobytes(),
                     self.template_index.tobytes(), repr(self.params.shape).encode())
        else:
            angles, cz = arrays
            parts = (angles.tobytes(), cz.tobytes(), repr(angles.shape).encode(),
                     repr(cz.shape).encode())
        for part in (*parts, repr((self.shots, self.seed)).encode()):
            h.update(part)
        return h.hexdigest()

    def subset(self, rows: list[int] | np.ndarray) -> SamplingRequest:
        """The request restricted to some rows (for chunking across jobs)."""
        part = SamplingRequest(self.templates, self.params[rows], self.shots, self.seed,
                               self.template_index[rows], self.tags, self.counts)
        known = self.__dict__.get("hdqnn_arrays")
        return part if known is None else part._knowing(known[0][rows], known[1][rows])


def _check_shapes(angles: np.ndarray, cz: np.ndarray) -> None:
    if angles.ndim != 4 or angles.shape[-1] != 2:
        raise RequestValidationError(
            f"angles must have shape (B, L, n, 2), got {angles.shape}")
    batch, layers, qubits, _ = angles.shape
    if batch == 0 or layers == 0 or qubits == 0:
        raise RequestValidationError(f"angles must be non-empty, got shape {angles.shape}")
    if cz.ndim != 4 or cz.shape[:2] != (batch, layers) or cz.shape[-1] != 2:
        raise RequestValidationError(
            f"cz must have shape ({batch}, {layers}, P, 2) to match angles, got {cz.shape}")
    if not np.isfinite(angles).all():
        bad = np.argwhere(~np.isfinite(angles))[0].tolist()
        raise RequestValidationError(f"angles must be finite; first NaN/inf at index {bad}")
    if cz.size and (cz.min() < 0 or cz.max() >= qubits):
        raise RequestValidationError(f"cz qubit indices must lie in 0..{qubits - 1}")


def _check_shots(shots: object) -> None:
    if shots is None:
        return
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots <= 0:
        raise RequestValidationError(f"shots must be a positive integer or None, got {shots!r}")


def check_template_request(request: SamplingRequest) -> tuple[np.ndarray, np.ndarray]:
    """The request's params and template index, validated against its templates."""
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
