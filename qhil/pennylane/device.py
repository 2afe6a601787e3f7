"""`qml.device("qhil", ...)`: a PennyLane device on any qhil provider, with budget and ledger.

    dev = qml.device("qhil", wires=2, provider="local", shots=1000, budget_usd=5,
                     ledger="run.sqlite", yes=True)

`execute` of a batch of tapes is one qhil job: a template per distinct circuit structure, a row
per circuit (broadcast elements are rows too), so the 2P shifted tapes of a parameter-shift
gradient go out together; the provider splits the job only where the device's circuit limit
says so. Tapes of different shot totals go out as one job per total, and a total above the
device's shot limit as copies of the rows whose samples are joined.

`preprocess` splits non-commuting measurements, appends the gates that rotate each observable
(Pauli words, Hamiltonians, Hermitian, Projector) to the computational basis, decomposes every
operation to qhil's gate set (`translate.NATIVE`) and refuses what is left, before anything is
sent. Results come from each circuit's counts through PennyLane's own measurement processes.
Analytic mode (shots=None) runs where the provider gives exact probabilities
(`Provider.exact_probabilities`: `local` without noise): one shots=None job, each measurement
read from the exact distribution; elsewhere it is refused before anything is sent.

`diff_method="qtdnn"` (qhil.pennylane.surrogate): the device computes a QNode's derivatives with
qhil's qtDNN surrogate, with the forward pass (`execute_and_compute_derivatives`): one job, then
each structure's surrogate refitted on the batch's pairs gives the Jacobian; no circuit is sent
for the gradient. Broadcast tapes are expanded to one circuit a row in `preprocess` (still one job).

Money goes through `spending.open_spending`: a device that bills refuses without a budget,
asks consent when it is created (the spending road, `qhil.open_dispatcher`), and every job is held to the budget and written to the
ledger (`qhil ledger run.sqlite`). `dev.tracker` records per batch: jobs, circuits, shots,
cost_usd (the ledger's) and latency_s (each job's round trip).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

import numpy as np
from pennylane.devices import Device, ExecutionConfig
from pennylane.devices.modifiers import single_tape_support
from pennylane.devices.preprocess import (
    decompose,
    device_resolve_dynamic_wires,
    validate_device_wires,
    validate_measurements,
    validate_observables,
)
from pennylane.exceptions import DeviceError
from pennylane.measurements import (
    ExpectationMP,
    ProbabilityMP,
    SampleMeasurement,
    Shots,
    VarianceMP,
)
from pennylane.tape import QuantumScript
from pennylane.transforms import broadcast_expand, split_non_commuting
from pennylane.transforms.core import CompilePipeline, transform

from qhil.errors import ProviderError, RequestValidationError, UserError
from qhil.execution.spend import request_spend
from qhil.pennylane.measure import exact_result, shot_rows, tape_result
from qhil.pennylane.spending import open_spending
from qhil.pennylane.surrogate import QtDNNGradient, check_derivable
from qhil.pennylane.translate import NATIVE, TapeBatch


class UnsupportedOperationError(RequestValidationError, DeviceError):
    """An operation the qhil device cannot run and PennyLane could not decompose (a qhil error,
    and PennyLane's DeviceError for PennyLane's own callers)."""


@transform
def refuse_foreign_operations(tape: QuantumScript):
    """Refuse, before anything is sent, a circuit with an operation outside qhil's gate set
    (what decomposition left, such as dynamic wire allocations)."""
    foreign = sorted({op.name for op in tape.operations if op.name not in NATIVE})
    if foreign:
        raise UnsupportedOperationError(
            f"operation {', '.join(foreign)} is not supported on qhil (its gates: "
            f"{', '.join(sorted(NATIVE))}) and could not be decomposed to them")
    return (tape,), lambda results: results[0]


@transform
def refuse_underivable(tape: QuantumScript):
    """diff_method="qtdnn": refuse what the surrogate cannot differentiate, before sending."""
    check_derivable(tape)
    return (tape,), lambda results: results[0]


@transform
def drop_snapshots(tape: QuantumScript):
    """Snapshots record states, which a device that samples does not have: they are left out."""
    kept = [op for op in tape.operations if op.name != "Snapshot"]
    return (tape.copy(operations=kept),), lambda results: results[0]


@transform
def rotate_to_eigenbases(tape: QuantumScript):
    """Append the gates that rotate the (qubit-wise commuting) observables to the computational
    basis; PennyLane's `process_samples` reads such samples as eigenvalues of the observable."""
    rotated = tape.copy(operations=[*tape.operations, *tape.diagonalizing_gates])
    return (rotated,), lambda results: results[0]


@single_tape_support
class QhilDevice(Device):
    """A PennyLane device whose circuits run on a qhil provider.

    Args:
        wires: the number of wires or their labels (required: templates have a fixed width).
        shots: default shots (a QNode's `set_shots` overrides it per call); None: analytic
            mode, on a provider that gives exact probabilities (`local`).
        provider: a profile name ("local", "braket-local", "ibm-torino", ...) or a path to one.
        budget_usd: the most dollars this device may spend; a billing device needs a budget.
        budget_shots: the most shots this device may spend.
        ledger: the SQLite ledger every job is written to (`qhil ledger PATH`); None: in memory.
        yes: spend on a billing device without asking (the budget still holds).
        seed: seeds each job and the shuffling of its samples (reruns reuse the ledger's results).
        timeout_s: how long to wait for a job's result; None waits.
        qtdnn: the settings and surrogates of `diff_method="qtdnn"` (qhil.pennylane.surrogate);
            default `QtDNNGradient(seed=seed or 0)`.
    """

    name = "qhil"

    def __init__(self, wires: int | Iterable, shots: int | Sequence[int] | None = None, *,
                 provider: str = "local",
                 budget_usd: float | str | Decimal | None = None, budget_shots: int | None = None,
                 ledger: str | None = None, yes: bool = False, seed: int | None = None,
                 timeout_s: float | None = None, qtdnn: QtDNNGradient | None = None):
        super().__init__(wires=wires)
        self._shots = Shots(shots)  # a qhil device's own setting: budgets are counted in shots
        self.dispatcher, self._consent = open_spending(provider, budget_usd, budget_shots,
                                                       ledger, yes)
        self._rng = np.random.default_rng(seed)
        self.timeout_s = timeout_s
        self.qtdnn = qtdnn if qtdnn is not None else QtDNNGradient(seed=seed or 0)

    def preprocess_transforms(self, execution_config: ExecutionConfig | None = None
                              ) -> CompilePipeline:
        program = CompilePipeline()
        if _qtdnn(execution_config):  # the surrogate's pairs are rows: one circuit a row
            program.add_transform(refuse_underivable)
            program.add_transform(broadcast_expand)
        program.add_transform(validate_device_wires, self.wires, name=self.name)
        program.add_transform(drop_snapshots)
        program.add_transform(validate_measurements, analytic_measurements=_from_probabilities,
                              sample_measurements=_sampled, name=self.name)
        program.add_transform(split_non_commuting)
        program.add_transform(validate_observables, stopping_condition=_diagonalisable,
                              name=self.name)
        program.add_transform(rotate_to_eigenbases)
        program.add_transform(decompose, stopping_condition=_native, target_gates=NATIVE,
                              skip_initial_state_prep=False, device_wires=self.wires,
                              name=self.name)
        program.add_transform(device_resolve_dynamic_wires, wires=self.wires, allow_resets=False)
        program.add_transform(refuse_foreign_operations)
        return program

    # --- diff_method="qtdnn": the surrogate's Jacobian, taken with the forward pass ---------------

    def supports_derivatives(self, execution_config: ExecutionConfig | None = None,
                             circuit: QuantumScript | None = None) -> bool:
        """First derivatives by the surrogate, for `diff_method="qtdnn"` only."""
        return _qtdnn(execution_config) and execution_config.derivative_order == 1

    def setup_execution_config(self, config: ExecutionConfig | None = None,
                               circuit: QuantumScript | None = None) -> ExecutionConfig:
        """For "qtdnn": the device's derivatives, computed on execution (no backward circuits)."""
        config = super().setup_execution_config(config, circuit)
        if not _qtdnn(config):
            return config
        return replace(config, use_device_gradient=True,
                       grad_on_execution=config.grad_on_execution is not False)

    def execute_and_compute_derivatives(self, circuits, execution_config=None):
        """One job for the batch; the surrogates refit on its pairs give the Jacobians."""
        tapes = tuple(circuits)
        results = self.execute(tapes, execution_config)
        return results, self.qtdnn.jacobians(tapes, results, self.wires)

    def compute_derivatives(self, circuits, execution_config=None):
        """Where PennyLane asks for derivatives apart from the forward pass (jax): the batch is
        executed again, for the pairs the refit needs."""
        return self.execute_and_compute_derivatives(circuits, execution_config)[1]

    def execute(self, circuits, execution_config: ExecutionConfig | None = None):
        tapes = tuple(circuits)
        self._check_analytic(tapes)
        per_row: list = [None] * len(tapes)
        for total, members in _by_shots(tapes).items():
            group = [tapes[i] for i in members]
            rows = self._sample(group, total) if total else self._exact(group)
            for i, tape_rows in zip(members, rows, strict=True):
                per_row[i] = tape_rows
        return tuple((tape_result if t.shots else exact_result)(t, rows, self.wires)
                     for t, rows in zip(tapes, per_row, strict=True))

    def _sample(self, tapes: list[QuantumScript], total: int) -> list[list[np.ndarray]]:
        """One job for tapes of one shot total: per tape, (total, n) samples per row."""
        batch = TapeBatch.of(tuple(tapes), self.wires)
        repeats = math.ceil(total / self.dispatcher.provider.profile.limits.max_shots)
        request = batch.request(math.ceil(total / repeats), int(self._rng.integers(2**31)),
                                repeats)
        result = self._run(request, len(tapes))
        joined = self._join(result.counts or [None] * request.batch_size, repeats, total)
        return [[joined[r] for r in rows] for rows in batch.rows]

    def _exact(self, tapes: list[QuantumScript]) -> list[list[np.ndarray]]:
        """One shots=None job: per tape, the exact (2**n,) probabilities of each row."""
        batch = TapeBatch.of(tuple(tapes), self.wires)
        result = self._run(batch.request(None, int(self._rng.integers(2**31))), len(tapes))
        if result.probabilities is None:
            raise ProviderError(f"{result.provider} returned no exact probabilities for an "
                                f"analytic (shots=None) job")
        return [[result.probabilities[r] for r in rows] for rows in batch.rows]

    def _run(self, request, executions: int):
        """Consent and budget, one job, its result; the tracker records it."""
        self._consent(request_spend("PennyLane executions", self.dispatcher.provider.profile,
                                    [request]))
        job = self.dispatcher.submit(request)
        result = job.result(self.timeout_s)
        self._track(executions, request, job, result)
        return result

    def _check_analytic(self, tapes: tuple[QuantumScript, ...]) -> None:
        """Refuse analytic (shots=None) circuits, before anything is sent, on a provider that
        does not give exact probabilities."""
        if all(tape.shots for tape in tapes) or self.dispatcher.provider.exact_probabilities:
            return
        raise UserError(f"analytic mode (shots=None) needs a provider that gives exact "
                        f"probabilities (local); {self.dispatcher.provider.name} samples: set "
                        f"shots (qml.device('qhil', ..., shots=N) or qml.set_shots)")

    def _join(self, counts: list, repeats: int, total: int) -> list[np.ndarray]:
        """Per row, the samples of its `repeats` copies (at r, r + B, ...), `total` of them."""
        per_row = [shot_rows(c, self._rng) for c in counts]
        width = len(counts) // repeats
        return [np.concatenate(per_row[r::width])[:total] for r in range(width)]

    def _track(self, executions: int, request, job, result) -> None:
        if not self.tracker.active:
            return
        token = getattr(job, "token", None)
        entry = self.dispatcher.ledger.entry(token) if token else None
        self.tracker.update(batches=1, executions=executions, jobs=1,
                            circuits=request.batch_size, shots=request.total_shots,
                            cost_usd=float(entry.cost_usd) if entry else 0.0,
                            latency_s=result.timings.round_trip_s or 0.0)
        self.tracker.record()

    def close(self) -> None:
        """Close the ledger and the provider."""
        self.dispatcher.ledger.close()
        self.dispatcher.provider.close()


def _qtdnn(config: ExecutionConfig | None) -> bool:
    return config is not None and config.gradient_method == "qtdnn"


def _native(op) -> bool:
    return op.name in NATIVE


def _from_probabilities(mp) -> bool:
    """What analytic mode computes from exact probabilities: no state, no samples."""
    return isinstance(mp, (ExpectationMP, VarianceMP, ProbabilityMP))


def _sampled(mp) -> bool:
    return isinstance(mp, SampleMeasurement)


def _diagonalisable(obs) -> bool:
    return obs.has_diagonalizing_gates


def _by_shots(tapes: tuple[QuantumScript, ...]) -> dict[int | None, list[int]]:
    """Tape indices by shot total (None: analytic)."""
    groups: dict[int | None, list[int]] = {}
    for i, tape in enumerate(tapes):
        groups.setdefault(tape.shots.total_shots, []).append(i)
    return groups
