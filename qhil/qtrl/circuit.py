"""The QT PQC as a provider SamplingRequest, for p_i estimated from shots (hardware in the loop).

The PQC is one circuit template written with the gates it is made of: per block U3 on every qubit,
then the CU3 ring (each gate its own three angles) or the CZ ring. Parameter columns: the U3
angles (L, n, 3) flattened, then the CU3 angles (L, n, 3) flattened (none on one qubit). The adapters translate it
as any template (Qiskit: U3 / CU3, ISA-transpiled to the device's gates; Braket: U and CU3
decomposed to its native gates); the `local` provider runs it on the template simulator. Tests
check it against Qiskit's Statevector of the native U3 / CU3 circuit.

Every p_i estimate goes through the run's Dispatcher (validation, budget, ledger, retries).
Gradients in this mode (straight-through, as the qtDNN): the forward pass uses the shot estimate
p_hat, the backward pass the exact simulator's Jacobian: p = p_exact + (p_hat - p_exact).detach().
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from qhil.execution.dispatcher import Dispatcher
from qhil.qtrl.generator import QTGenerator, cu3_pairs, entangler_pairs
from qhil.quantum.bitstrings import probabilities_from_counts
from qhil.quantum.request import SamplingRequest
from qhil.quantum.template import Angle, CircuitTemplate, Gate


def u3_matrix(theta: np.ndarray, phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Qiskit's U3 as numpy (..., 2, 2) (for references in tests)."""
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    rows = [c + 0j, -np.exp(1j * lam) * s, np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]
    return np.stack(rows, axis=-1).reshape(*np.shape(theta), 2, 2)


@lru_cache(maxsize=32)
def qt_template(n_qubits: int, n_blocks: int, entangler: str = "cu3") -> CircuitTemplate:
    """The QT PQC of `n_blocks` blocks on `n_qubits` qubits with the "cu3" or "cz" entangler."""
    gates: list[Gate] = []
    pairs = cu3_pairs(n_qubits) if entangler == "cu3" else []
    cu3_base = n_blocks * n_qubits * 3
    for block in range(n_blocks):
        gates += [Gate("u3", (q,), _angles((block * n_qubits + q) * 3)) for q in range(n_qubits)]
        gates += [Gate("cu3", pair, _angles(cu3_base + (block * len(pairs) + j) * 3))
                  for j, pair in enumerate(pairs)]
        if entangler == "cz":
            gates += [Gate("cz", pair) for pair in entangler_pairs(n_qubits) if pair[0] != pair[1]]
    width = cu3_base + n_blocks * len(pairs) * 3
    return CircuitTemplate(n_qubits, gates, n_params=width, name=f"qt-{entangler}")


def _angles(first: int) -> tuple[Angle, Angle, Angle]:
    return Angle(first), Angle(first + 1), Angle(first + 2)


def qt_request(u3: np.ndarray, cu3: np.ndarray | None, shots: int | None,
               seed: int | None = None) -> SamplingRequest:
    """One circuit (batch 1) of the QT PQC: U3 angles (L, n, 3), CU3 angles (L, pairs, 3) or None
    for the CZ ring."""
    n_blocks, n_qubits = u3.shape[:2]
    template = qt_template(n_qubits, n_blocks, "cz" if cu3 is None else "cu3")
    parts = [u3.reshape(-1)] + ([] if cu3 is None else [cu3.reshape(-1)])
    return SamplingRequest.from_templates(template, np.concatenate(parts)[None], shots, seed,
                                          tags={"purpose": "qtrl"})


def generator_request(model: QTGenerator, shots: int | None, seed: int | None) -> SamplingRequest:
    """The request of a generator's current angles."""
    u3 = model.angles.detach().double().numpy()
    cu3 = model.cu3_angles.detach().double().numpy() if model.entangler == "cu3" else None
    return qt_request(u3, cu3, shots, seed)


@dataclass
class ShotSampler:
    """Estimates p_i through the run's Dispatcher; counts shots and jobs for the summary."""

    dispatcher: Dispatcher
    shots: int
    timeout_s: float = 3600.0
    shots_used: int = 0
    jobs: int = 0

    def probabilities(self, model: QTGenerator, seed: int | None) -> torch.Tensor:
        request = generator_request(model, self.shots, seed)
        result = self.dispatcher.run(request, timeout_s=self.timeout_s)
        self.shots_used += request.total_shots
        self.jobs += 1
        probs = probabilities_from_counts(result.counts[0], request.n_qubits)
        return torch.as_tensor(probs, dtype=torch.float32)
