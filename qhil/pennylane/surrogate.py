"""`diff_method="qtdnn"`: qhil's surrogate gradient for any QNode on the qhil device.

    dev = qml.device("qhil", wires=2, provider="local", shots=1000)
    node = qml.QNode(circuit, dev, diff_method="qtdnn")   # like "adjoint" on lightning
    dev.qtdnn.last_refit_loss, dev.qtdnn.last_fidelity     # QtDNNGradient(track_fidelity=True)

The forward pass runs on the device (one job for the batch, as every execution); PennyLane takes
the derivatives from the same call (`execute_and_compute_derivatives`, grad_on_execution), so the
backward pass sends no circuit. Per circuit structure (its gates and its measurements) the device
keeps one qtDNN that maps the circuit's gate parameters to its results: each differentiated batch
first refits it on the batch's (parameter row, measured result) pairs and those of the batches
before it, then its Jacobian is the derivative. The engine is `qhil.QuantumLayer`'s: the default
surrogate (`template_qtdnn`), its refit (`PairRefit`: `QtDNNTrainer`, the hand-written step), the
`qtdnn` strategy's Jacobian and the `Fidelity` measure (`track_fidelity`: the delivered Jacobian
against the exact one of PennyLane's `default.qubit`, a simulator beside the device: no job).

The surrogate's sigmoid outputs and BCE fit want values in [0, 1]: an expectation of an
observable with eigenvalues in [lo, hi] is fitted as (v - lo) / (hi - lo), a variance over
((hi - lo) / 2)^2, probabilities as they are; the Jacobian is scaled back. Samples and counts
have no derivative, and shot vectors are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from pennylane.measurements import ExpectationMP, ProbabilityMP, VarianceMP
from pennylane.tape import QuantumScript
from pennylane.wires import Wires

from qhil.errors import UserError
from qhil.layers.fidelity import Fidelity, fidelity
from qhil.layers.gradients import Surrogate, strategy
from qhil.layers.hdqnn import PairRefit
from qhil.layers.quantum_layer import template_qtdnn
from qhil.pennylane.translate import DROPPED, tape_gates
from qhil.quantum.template import CircuitTemplate


@dataclass(frozen=True)
class TapeStructure:
    """What one surrogate stands for: a gate structure and its measurements, as [0, 1] outputs."""

    key: tuple
    n_params: int
    low: np.ndarray    # (n,) the result each output's 0 stands for
    span: np.ndarray   # (n,) the result range each output's [0, 1] covers
    shapes: tuple[tuple[int, ...], ...]  # each measurement's result shape

    @classmethod
    def of(cls, tape: QuantumScript, wires: Wires) -> TapeStructure:
        gates, columns, _ = tape_gates(tape, wires)
        template = CircuitTemplate(len(wires), gates, n_params=len(columns), name="pennylane")
        low, span, shapes = zip(*(_scale(mp) for mp in tape.measurements), strict=True)
        return cls((template.key, tuple(repr(mp) for mp in tape.measurements)), len(columns),
                   np.concatenate(low), np.concatenate(span), tuple(shapes))


def check_derivable(tape: QuantumScript) -> None:
    """Refuse, before anything is sent, a differentiated tape the surrogate cannot take."""
    if not tape.trainable_params:
        return
    if tape.shots.has_partitioned_shots:
        raise UserError("diff_method='qtdnn' does not take shot vectors; give one shot count")
    for mp in tape.measurements:
        if not isinstance(mp, (ExpectationMP, VarianceMP, ProbabilityMP)):
            raise UserError(f"diff_method='qtdnn' differentiates expval, var and probs; "
                            f"{type(mp).__name__} has no derivative")


def _scale(mp) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(low, span, shape) of one measurement's flattened result."""
    if isinstance(mp, ProbabilityMP):
        size = 2 ** len(mp.wires)
        return np.zeros(size), np.ones(size), (size,)
    if not isinstance(mp, (ExpectationMP, VarianceMP)) or mp.obs is None:
        raise UserError(f"diff_method='qtdnn' differentiates expval, var and probs of "
                        f"observables; {mp!r} has no derivative")
    eig = np.real(np.asarray(mp.eigvals()))
    width = max(float(eig.max() - eig.min()), 1e-12)
    if isinstance(mp, VarianceMP):
        return np.zeros(1), np.array([width**2 / 4]), ()
    return np.array([eig.min()]), np.array([width]), ()


class _Fit:
    """One structure's surrogate, its refit and the `qtdnn` strategy over it."""

    def __init__(self, structure: TapeStructure, n_qubits: int, settings: QtDNNGradient):
        with torch.random.fork_rng(devices=[]):  # the initial weights follow the seed
            torch.manual_seed(settings.seed)
            net = template_qtdnn(structure.n_params, len(structure.low), n_qubits,
                                 settings.hidden)
        self.strategy: Surrogate = strategy("qtdnn", qtdnn=net)
        self.refit = PairRefit(net, settings.refit_lr, settings.refit_steps,
                               settings.tiny_batch, settings.refit_history, settings.seed)
        self.columns = torch.arange(structure.n_params)

    def jacobian(self, rows: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Refit on these pairs, then the surrogate's Jacobian (B, n, P) at the rows."""
        loss = self.refit(rows, targets)
        return self.strategy.jacobian(rows, self), loss


class QtDNNGradient:
    """The settings and surrogates of `diff_method="qtdnn"` (`qml.device("qhil", ...,
    qtdnn=QtDNNGradient(...))`; the device makes one with the defaults).

    Args:
        refit_steps: tiny batches (AdamW steps) of each refit.
        refit_lr: the refit's learning rate.
        tiny_batch: rows per tiny batch (None: the batch's size).
        refit_history: the batches (this one included) whose pairs each refit draws from.
        hidden: the surrogate's hidden widths (default one layer of 2**(n+1)).
        track_fidelity: measure each delivered Jacobian against the exact one (`last_fidelity`).
        seed: seeds each surrogate's initial weights and its refit's draws.
    """

    def __init__(self, refit_steps: int = 20, refit_lr: float = 3e-3,
                 tiny_batch: int | None = None, refit_history: int = 8,
                 hidden: list[int] | None = None, track_fidelity: bool = False, seed: int = 0):
        self.refit_steps, self.refit_lr, self.tiny_batch = refit_steps, refit_lr, tiny_batch
        self.refit_history, self.hidden, self.seed = refit_history, hidden, seed
        self.track_fidelity = track_fidelity
        self.fits: dict[tuple, _Fit] = {}
        self.last_refit_loss: float | None = None
        self.last_fidelity: Fidelity | None = None

    def jacobians(self, tapes: tuple[QuantumScript, ...], results: tuple,
                  wires: Wires) -> tuple:
        """Each tape's Jacobian in PennyLane's layout, from the refitted surrogates (a tape
        without trainable parameters: none, and no pair for the refit)."""
        structures = [self._structure(t, wires) if t.trainable_params else None for t in tapes]
        full: list = [None] * len(tapes)
        for key, members in _group(structures).items():
            full_rows = self._fit_group(key, [tapes[i] for i in members],
                                        [results[i] for i in members], structures[members[0]],
                                        wires)
            for i, jac in zip(members, full_rows, strict=True):
                full[i] = jac
        jacs = tuple(_layout(t, s, j) if s else _empty(t)
                     for t, s, j in zip(tapes, structures, full, strict=True))
        if self.track_fidelity:
            self.last_fidelity = _fidelity(tapes, jacs)
        return jacs

    def _structure(self, tape: QuantumScript, wires: Wires) -> TapeStructure:
        check_derivable(tape)
        if tape.batch_size:
            raise UserError("diff_method='qtdnn' needs unbroadcast tapes (the device expands "
                            "broadcasting in preprocess)")
        return TapeStructure.of(tape, wires)

    def _fit_group(self, key, tapes, results, structure: TapeStructure, wires: Wires) -> list:
        """(n, P) Jacobians of the group's tapes, scaled back to their results."""
        if structure.n_params == 0:
            return [np.zeros((len(structure.low), 0)) for _ in tapes]
        rows = torch.tensor(np.stack([_row(t, wires) for t in tapes]), dtype=torch.float64)
        targets = np.stack([_flat(r) for r in results])
        targets = torch.from_numpy((targets - structure.low) / structure.span)
        if key not in self.fits:
            self.fits[key] = _Fit(structure, len(wires), self)
        jac, self.last_refit_loss = self.fits[key].jacobian(rows, targets)
        scaled = jac.detach().double().numpy() * structure.span[None, :, None]
        return list(scaled)


def _group(structures: list[TapeStructure | None]) -> dict[tuple, list[int]]:
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(structures):
        if s is not None:
            groups.setdefault(s.key, []).append(i)
    return groups


def _empty(tape: QuantumScript):
    """The Jacobian of a tape without trainable parameters (PennyLane's layout)."""
    if len(tape.measurements) == 1:
        return np.zeros(0)
    return tuple(np.zeros(0) for _ in tape.measurements)


def _row(tape: QuantumScript, wires: Wires) -> np.ndarray:
    _, columns, _ = tape_gates(tape, wires)
    return np.array([float(c) for c in columns])


def _flat(result) -> np.ndarray:
    parts = result if isinstance(result, tuple) else (result,)
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def _columns(tape: QuantumScript) -> list[int | None]:
    """Per tape parameter (the index `trainable_params` uses), its template column, or None
    for a dropped operation's parameter; observables' parameters are refused when trainable."""
    columns: list[int | None] = []
    for op in tape.operations:
        for _ in op.data:
            dropped = op.name in DROPPED
            columns.append(None if dropped else sum(c is not None for c in columns))
    return columns


def _layout(tape: QuantumScript, structure: TapeStructure, full: np.ndarray):
    """(n, P) -> PennyLane's Jacobian: measurements, then trainable parameters, then shape."""
    columns = _columns(tape)
    if any(p >= len(columns) for p in tape.trainable_params):
        raise UserError("diff_method='qtdnn' differentiates gate parameters, not observables'")
    per_mp, start = [], 0
    for shape in structure.shapes:
        size = int(np.prod(shape))
        block = full[start:start + size]
        start += size
        entries = tuple(block[:, columns[p]].reshape(shape) if columns[p] is not None
                        else np.zeros(shape) for p in tape.trainable_params)
        per_mp.append(entries[0] if len(entries) == 1 else entries)
    return per_mp[0] if len(per_mp) == 1 else tuple(per_mp)


def _fidelity(tapes: tuple[QuantumScript, ...], jacs: tuple) -> Fidelity:
    """The delivered Jacobians against default.qubit's exact ones (parameter-shift, no shots)."""
    import pennylane as qml

    reference = qml.device("default.qubit")
    exact_tapes = [t.copy(shots=None) for t in tapes]
    shifted, post = qml.gradients.param_shift(exact_tapes)
    exact = post(reference.execute(shifted))
    delivered = [_flat(_nested(j)) for j in jacs]
    truth = [_flat(_nested(j)) for j in exact]
    flat, flat_exact = (torch.from_numpy(np.concatenate(v)) for v in (delivered, truth))
    if len({len(d) for d in delivered}) != 1:
        return fidelity(flat, flat_exact)
    return fidelity(flat, flat_exact, torch.from_numpy(np.stack(delivered)),
                    torch.from_numpy(np.stack(truth)))


def _nested(jac) -> tuple:
    """A Jacobian's leaves as one flat tuple of arrays."""
    if isinstance(jac, (tuple, list)):
        return tuple(leaf for part in jac for leaf in _nested(part))
    return (np.asarray(jac, dtype=np.float64),)
