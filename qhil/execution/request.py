"""SamplingRequest: a validated batch of hDQNN circuits, the unit every provider accepts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from qhil.errors import RequestValidationError


@dataclass(frozen=True)
class SamplingRequest:
    """A batch of B circuits of one ansatz family, validated on construction.

    Attributes:
        angles: (B, L, n, 2) float64; per layer and qubit the RX then RY angle, in radians.
        cz: (B, L, P, 2) int64; per layer P CZ pairs applied after the rotations; (i, i) is no gate.
        shots: shots per circuit, or None for exact marginals (simulators only).
        seed: seed for providers that accept one; None lets the provider choose.
        tags: free-form labels carried into the ledger (run id, purpose).
        counts: ask for per-circuit counts; False lets a simulator skip building them (devices
            return them anyway). It does not change the marginals, so it is not in the digest.
    """

    angles: np.ndarray
    cz: np.ndarray
    shots: int | None
    seed: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    counts: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "angles", np.ascontiguousarray(self.angles, dtype=np.float64))
        object.__setattr__(self, "cz", np.ascontiguousarray(self.cz, dtype=np.int64))
        _check_shapes(self.angles, self.cz)
        _check_shots(self.shots)
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise RequestValidationError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def batch_size(self) -> int:
        return self.angles.shape[0]

    @property
    def n_layers(self) -> int:
        return self.angles.shape[1]

    @property
    def n_qubits(self) -> int:
        return self.angles.shape[2]

    @property
    def total_shots(self) -> int:
        return 0 if self.shots is None else self.shots * self.batch_size

    def structure_keys(self) -> list[bytes]:
        """One key per circuit; circuits with equal keys share one circuit structure."""
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
        for part in (self.angles.tobytes(), self.cz.tobytes(), repr(self.angles.shape).encode(),
                     repr(self.cz.shape).encode(), repr((self.shots, self.seed)).encode()):
            h.update(part)
        return h.hexdigest()

    def subset(self, rows: list[int] | np.ndarray) -> SamplingRequest:
        """The request restricted to some rows (for chunking across jobs)."""
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
