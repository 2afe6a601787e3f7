"""SamplingRequest: a validated batch of circuits, the unit every provider accepts.

Two kinds, one contract: hDQNN circuits as angles (B, L, n, 2) and CZ pairs (B, L, P, 2), or
circuit templates (`qhil.CircuitTemplate`) with a (B, P) parameter array, row b running
`templates[template_index[b]]` on `params[b]` (`SamplingRequest.from_templates`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from qhil.errors import RequestValidationError

if TYPE_CHECKING:
    from qhil.quantum.template import CircuitTemplate


@dataclass(frozen=True)
class SamplingRequest:
    """A batch of B circuits, validated on construction.

    Attributes:
        angles: (B, L, n, 2) float64; per layer and qubit the RX then RY angle, in radians
            (None in a template request).
        cz: (B, L, P, 2) int64; per layer P CZ pairs applied after the rotations; (i, i) is no gate
            (None in a template request).
        shots: shots per circuit, or None for exact marginals (simulators only).
        seed: seed for providers that accept one; None lets the provider choose.
        tags: free-form labels carried into the ledger (run id, purpose).
        counts: ask for per-circuit counts; False lets a simulator skip building them (devices
            return them anyway). It does not change the marginals, so it is not in the digest.
        templates: the circuit templates of a template request (all of one width and parameter
            count); empty for an hDQNN request.
        params: (B, P) float64 parameter rows of a template request.
        template_index: (B,) int64, the template each row runs.
    """

    angles: np.ndarray | None
    cz: np.ndarray | None
    shots: int | None
    seed: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    counts: bool = True
    templates: tuple[CircuitTemplate, ...] = ()
    params: np.ndarray | None = None
    template_index: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.templates or self.params is not None:
            self._init_templates()
        else:
            object.__setattr__(self, "angles", np.ascontiguousarray(self.angles, dtype=np.float64))
            object.__setattr__(self, "cz", np.ascontiguousarray(self.cz, dtype=np.int64))
            _check_shapes(self.angles, self.cz)
        _check_shots(self.shots)
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise RequestValidationError(f"seed must be a non-negative integer, got {self.seed!r}")

    @classmethod
    def from_templates(cls, templates: CircuitTemplate | list[CircuitTemplate] | tuple,
                       params: np.ndarray, shots: int | None, seed: int | None = None,
                       template_index: np.ndarray | None = None, tags: dict[str, str] | None = None,
                       counts: bool = True) -> SamplingRequest:
        """A template request: row b runs `templates[template_index[b]]` (default: template 0)
        with parameters `params[b]`."""
        from qhil.quantum.template import CircuitTemplate

        group = (templates,) if isinstance(templates, CircuitTemplate) else tuple(templates)
        return cls(None, None, shots, seed, dict(tags or {}), counts, templates=group,
                   params=params, template_index=template_index)

    def _init_templates(self) -> None:
        from qhil.execution.template_request import check_template_request

        params, index = check_template_request(self)
        object.__setattr__(self, "templates", tuple(self.templates))
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "template_index", index)

    @property
    def is_template(self) -> bool:
        """True for a template request (templates + params), False for hDQNN angles + CZ."""
        return bool(self.templates)

    @property
    def batch_size(self) -> int:
        return self.params.shape[0] if self.is_template else self.angles.shape[0]

    @property
    def n_layers(self) -> int:
        """hDQNN layers; for templates, the deepest template's hDQNN-equivalent layer count."""
        if self.is_template:
            from qhil.execution.template_request import equivalent_layers
            return equivalent_layers(self)
        return self.angles.shape[1]

    @property
    def n_qubits(self) -> int:
        return self.templates[0].n_qubits if self.is_template else self.angles.shape[2]

    @property
    def total_shots(self) -> int:
        return 0 if self.shots is None else self.shots * self.batch_size

    def structure_keys(self) -> list[bytes]:
        """One key per circuit; circuits with equal keys share one circuit structure."""
        if self.is_template:
            keys = [t.key for t in self.templates]
            return [keys[i] for i in self.template_index]
        return [row.tobytes() for row in self.cz]

    def structures(self) -> dict[bytes, list[int]]:
        """Row indices grouped by circuit structure, in first-seen order."""
        groups: dict[bytes, list[int]] = {}
        for row, key in enumerate(self.structure_keys()):
            groups.setdefault(key, []).append(row)
        return groups

    def digest(self) -> str:
        """Stable hash of everything that determines the result (for the result store)."""
        h = hashlib.sha256()
        if self.is_template:
            for part in (*(t.key for t in self.templates), self.params.tobytes(),
                         self.template_index.tobytes(), repr(self.params.shape).encode()):
                h.update(part)
        arrays = () if self.is_template else (self.angles.tobytes(), self.cz.tobytes(),
                                               repr(self.angles.shape).encode(),
                                               repr(self.cz.shape).encode())
        for part in (*arrays, repr((self.shots, self.seed)).encode()):
            h.update(part)
        return h.hexdigest()

    def subset(self, rows: list[int] | np.ndarray) -> SamplingRequest:
        """The request restricted to some rows (for chunking across jobs)."""
        if self.is_template:
            return SamplingRequest.from_templates(
                self.templates, self.params[rows], self.shots, self.seed,
                self.template_index[rows], self.tags, self.counts)
        return SamplingRequest(self.angles[rows], self.cz[rows], self.shots, self.seed, self.tags,
                               self.counts)


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
