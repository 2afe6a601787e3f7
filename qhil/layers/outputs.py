"""What a `qhil.QuantumLayer` returns: P(1) of measured qubits, or expectations of Pauli-Z words.

Both are read from one quantity per output, the probability that a word's qubits read an odd
number of ones: for the word of one qubit j that is P(qubit j reads 1) (the marginal), and
<Z_a Z_b ...> = 1 - 2 P(odd). The layer's strategies and surrogate work on these
probabilities (in [0, 1], fitted by BCE); `Outputs.finish` maps them to what the user asked.

    Outputs.parse(["Z0", "Z0Z1"], n_qubits=3)   expectations of Z0 and Z0 Z1
    Outputs.qubits([0, 2], n_qubits=3)          P(1) of qubits 0 and 2
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from qhil.errors import RequestValidationError
from qhil.execution.job import SamplingResult
from qhil.quantum.statevector import basis_bits

WORD = re.compile(r"(?:Z(\d+))+")


@dataclass(frozen=True)
class Outputs:
    """The layer's outputs: a qubit tuple per word; `expectation` (Z words) or P(1) (qubits)."""

    words: tuple[tuple[int, ...], ...]
    expectation: bool

    @classmethod
    def qubits(cls, qubits: Sequence[int] | None, n_qubits: int) -> Outputs:
        """P(1) of each measured qubit (default: all of them)."""
        chosen = tuple(range(n_qubits)) if qubits is None else tuple(int(q) for q in qubits)
        _check(chosen, n_qubits, f"qubits {list(chosen)}")
        return cls(tuple((q,) for q in chosen), expectation=False)

    @classmethod
    def parse(cls, observables: Sequence[str], n_qubits: int) -> Outputs:
        """Pauli-Z words such as "Z0" or "Z0Z1" (one Z per qubit)."""
        words = tuple(_word(text, n_qubits) for text in observables)
        if not words:
            raise RequestValidationError("observables is empty; name at least one Z word, e.g. 'Z0'")
        return cls(words, expectation=True)

    @property
    def single(self) -> bool:
        """Every word one qubit: the marginals suffice (no counts needed)."""
        return all(len(w) == 1 for w in self.words)

    def from_result(self, result: SamplingResult) -> np.ndarray:
        """(B, W) P(odd) of each word, from a provider's result."""
        if self.single:
            return np.asarray(result.marginals, dtype=np.float64)[:, [w[0] for w in self.words]]
        if result.counts is None:
            raise RequestValidationError(
                "observables over several qubits need shot counts; give shots (not None) on a "
                "provider that returns counts")
        return np.stack([self._from_counts(c) for c in result.counts])

    def _from_counts(self, counts: dict[str, int]) -> np.ndarray:
        bits = np.array([[b == "1" for b in key] for key in counts], dtype=np.int64)
        weight = np.fromiter(counts.values(), dtype=np.float64)
        odd = np.stack([bits[:, list(w)].sum(1) % 2 for w in self.words], axis=1)
        return weight @ odd / weight.sum()

    def parity_matrix(self, n_qubits: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """(2**n, W): 1 where basis state i has odd parity on the word (the simulator's order)."""
        bits = basis_bits(n_qubits, str(device)).long()
        return torch.stack([bits[:, list(w)].sum(1) % 2 for w in self.words], dim=1)

    def finish(self, odd: torch.Tensor) -> torch.Tensor:
        """P(odd) (B, W) -> what the user asked: expectations 1 - 2 P(odd), or P(1) as is."""
        return 1 - 2 * odd if self.expectation else odd


def _word(text: str, n_qubits: int) -> tuple[int, ...]:
    if not isinstance(text, str) or not WORD.fullmatch(text.replace(" ", "")):
        raise RequestValidationError(f"observable {text!r} is not a Pauli-Z word such as 'Z0' or 'Z0Z1'")
    qubits = tuple(int(q) for q in re.findall(r"\d+", text))
    _check(qubits, n_qubits, f"observable {text!r}")
    return qubits


def _check(qubits: tuple[int, ...], n_qubits: int, what: str) -> None:
    if len(set(qubits)) != len(qubits) or any(not 0 <= q < n_qubits for q in qubits):
        raise RequestValidationError(
            f"{what} must name distinct qubits 0..{n_qubits - 1} of the circuit")
