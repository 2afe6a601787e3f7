"""The QT PQC as a provider SamplingRequest, for p_i estimated from shots (hardware in the loop).

A request holds layers of RX-then-RY on every qubit followed by CZ pairs, the vocabulary every
adapter translates (Qiskit: one circuit per structure, ISA-transpiled to the device's native
gates; Braket: rx / ry / cz program text). The PQC is first written as steps, a single-qubit
gate on every qubit or one CZ, then compiled: runs of single-qubit steps are multiplied into one
2x2 per qubit, and each becomes two request layers through a Y-X-Y Euler decomposition,
U ~ RY(a) RX(b) RY(c) (a phase per qubit, i.e. a global phase): (RX 0, RY c) then (RX b, RY a)
followed by the CZs that come next.

CU3(theta, phi, lam) on (c, t) is Qiskit's definition with CX = H_t CZ H_t:
    c: P((lam+phi)/2), t: H P((lam-phi)/2);  CZ;  t: H U3(-theta/2, 0, -(phi+lam)/2) H;  CZ;
    t: U3(theta/2, phi, 0) H
so a CU3 ring on n qubits costs 2n CZs and about 4n request layers per block. Tests check the
request against Qiskit's Statevector of the native U3 / CU3 circuit.

Every p_i estimate goes through the run's Dispatcher (validation, budget, ledger, retries).
Gradients in this mode (straight-through, as the qtDNN): the forward pass uses the shot estimate
p_hat, the backward pass the exact simulator's Jacobian: p = p_exact + (p_hat - p_exact).detach().
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from qhil.execution.dispatcher import Dispatcher
from qhil.execution.request import SamplingRequest
from qhil.qtrl.generator import QTGenerator, cu3_pairs, entangler_pairs
from qhil.quantum.bitstrings import probabilities_from_counts

# V with V^dag Z V = Y and V^dag Y V = X: conjugating a ZYZ decomposition by it gives YXY.
_V = 0.5 * np.array([[1 - 1j, -1 - 1j], [1 - 1j, 1 + 1j]])


def u3_matrix(theta: np.ndarray, phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Qiskit's U3 as numpy (..., 2, 2)."""
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    rows = [c + 0j, -np.exp(1j * lam) * s, np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]
    return np.stack(rows, axis=-1).reshape(*np.shape(theta), 2, 2)


def yxy_angles(unitary: np.ndarray) -> np.ndarray:
    """(a, b, c) with unitary ~ RY(a) RX(b) RY(c), for a batch of 2x2 unitaries (..., 2, 2)."""
    w = _V @ unitary @ _V.conj().T  # ZYZ form: Rz(a) Ry(b) Rz(c), up to a phase
    det = np.linalg.det(w)
    beta = 2 * np.arctan2(np.abs(w[..., 1, 0]), np.abs(w[..., 0, 0]))
    alpha = np.angle(w[..., 1, 1] * w[..., 1, 0] / det)
    gamma = np.angle(w[..., 1, 1] * w[..., 1, 0].conj())
    no_sin, no_cos = np.abs(w[..., 1, 0]) < 1e-9, np.abs(w[..., 0, 0]) < 1e-9
    alpha = np.where(no_sin, np.angle(w[..., 1, 1] ** 2 / det), alpha)
    alpha = np.where(no_cos, np.angle(w[..., 1, 0] ** 2 / det), alpha)
    gamma = np.where(no_sin | no_cos, 0.0, gamma)
    return np.stack([alpha, beta, gamma], axis=-1)


_H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
_I = np.eye(2, dtype=complex)


def phase_matrix(angle: float) -> np.ndarray:
    return np.diag([1, np.exp(1j * angle)])


@dataclass
class Stage:
    """One 2x2 per qubit, then the CZ pairs that follow it."""

    mats: np.ndarray
    cz: list[tuple[int, int]] = field(default_factory=list)


def single_qubit_step(n_qubits: int, gates: dict[int, np.ndarray]) -> np.ndarray:
    """(n, 2, 2): the given gates on their qubits, identity elsewhere."""
    mats = np.tile(_I, (n_qubits, 1, 1))
    for qubit, gate in gates.items():
        mats[qubit] = gate
    return mats


def cu3_steps(c: int, t: int, angles: np.ndarray, n_qubits: int) -> list:
    """CU3 on control c, target t as single-qubit steps (n, 2, 2) and CZ steps (c, t), in order."""
    theta, phi, lam = angles
    first = {c: phase_matrix((lam + phi) / 2), t: _H @ phase_matrix((lam - phi) / 2)}
    middle = {t: _H @ u3_matrix(-theta / 2, 0.0, -(phi + lam) / 2) @ _H}
    last = {t: u3_matrix(theta / 2, phi, 0.0) @ _H}
    return [single_qubit_step(n_qubits, first), (c, t), single_qubit_step(n_qubits, middle), (c, t),
            single_qubit_step(n_qubits, last)]


def pqc_steps(u3: np.ndarray, cu3: np.ndarray | None) -> list:
    """The QT PQC (U3 angles (L, n, 3), CU3 angles (L, n, 3) or None for the CZ ring) as steps."""
    n_blocks, n_qubits = u3.shape[:2]
    steps: list = []
    for block in range(n_blocks):
        steps.append(u3_matrix(u3[block, :, 0], u3[block, :, 1], u3[block, :, 2]))
        if cu3 is None:
            steps += [pair for pair in entangler_pairs(n_qubits) if pair[0] != pair[1]]
            continue
        for (c, t), angles in zip(cu3_pairs(n_qubits), cu3[block], strict=True):
            steps += cu3_steps(c, t, angles, n_qubits)
    return steps


def compile_stages(steps: list, n_qubits: int) -> list[Stage]:
    """Merge runs of single-qubit steps; CZs attach to the stage before them."""
    stages = [Stage(np.tile(_I, (n_qubits, 1, 1)))]
    for step in steps:
        if isinstance(step, tuple):
            stages[-1].cz.append(step)
            continue
        if stages[-1].cz:
            stages.append(Stage(np.tile(_I, (n_qubits, 1, 1))))
        stages[-1].mats = step @ stages[-1].mats
    return stages


def stages_request(stages: list[Stage], shots: int, seed: int | None) -> SamplingRequest:
    """Two request layers per stage (Y-X-Y), the stage's CZs after the second."""
    yxy = yxy_angles(np.stack([s.mats for s in stages]))
    layers = np.zeros((2 * len(stages), yxy.shape[1], 2))
    layers[0::2, :, 1] = yxy[..., 2]
    layers[1::2, :, 0], layers[1::2, :, 1] = yxy[..., 1], yxy[..., 0]
    width = max(1, *(len(s.cz) for s in stages))
    cz = np.zeros((2 * len(stages), width, 2), dtype=np.int64)
    for index, stage in enumerate(stages):
        if stage.cz:
            cz[2 * index + 1, :len(stage.cz)] = stage.cz
    return SamplingRequest(layers[None], cz[None], shots, seed, {"purpose": "qtrl"})


def qt_request(u3: np.ndarray, cu3: np.ndarray | None, shots: int,
               seed: int | None = None) -> SamplingRequest:
    """One circuit (batch 1) equivalent to the QT PQC: U3 angles (L, n, 3), CU3 angles or None."""
    stages = compile_stages(pqc_steps(u3, cu3), u3.shape[1])
    return stages_request(stages, shots, seed)


def generator_request(model: QTGenerator, shots: int, seed: int | None) -> SamplingRequest:
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
