"""qhil.qiskit.Sampler / Estimator against Qiskit's reference primitives, on real providers."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit.library import real_amplitudes
from qiskit.primitives import (
    BitArray,
    DataBin,
    PrimitiveResult,
    SamplerPubResult,
    StatevectorEstimator,
)
from qiskit.quantum_info import SparsePauliOp, Statevector

from qhil.errors import BudgetExceededError, RequestValidationError, UserError
from qhil.qiskit import Estimator, Sampler


def ansatz(n: int = 3):
    return real_amplitudes(n, reps=1)


def bindings(circuit, rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-3, 3, (rows, circuit.num_parameters))


def exact_probabilities(circuit, values) -> dict[str, float]:
    """Qiskit's own statevector probabilities, keyed as Qiskit writes bitstrings."""
    bound = circuit.remove_final_measurements(inplace=False).assign_parameters(values)
    return Statevector(bound).probabilities_dict()


def assert_counts_match(counts: dict[str, int], probs: dict[str, float], shots: int) -> None:
    for key in set(counts) | set(probs):
        p = probs.get(key, 0.0)
        sigma = np.sqrt(max(p * (1 - p), 1 / shots) * shots)
        assert abs(counts.get(key, 0) - p * shots) <= 5 * sigma, (key, counts, probs)


def test_sampler_counts_follow_the_statevector_for_every_binding():
    circuit = ansatz().measure_all(inplace=False)
    values = bindings(circuit, 4)
    result = Sampler(seed=1).run([(circuit, values)], shots=4000).result()
    assert isinstance(result, PrimitiveResult) and isinstance(result[0], SamplerPubResult)
    array = result[0].data.meas
    assert isinstance(array, BitArray) and array.shape == (4,) and array.num_shots == 4000
    for row in range(4):
        assert_counts_match(array.get_counts(row), exact_probabilities(circuit, values[row]), 4000)


def test_registers_get_the_bits_their_measurements_name():
    q, a, b = QuantumRegister(3), ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    circuit = QuantumCircuit(q, a, b)
    circuit.x(0)
    circuit.h(2)
    circuit.measure(0, a[1])   # qubit 0 (always 1) -> bit 1 of a
    circuit.measure(1, a[0])   # qubit 1 (always 0) -> bit 0 of a
    circuit.measure(2, b[0])   # qubit 2: half and half
    data = Sampler(seed=3).run([circuit], shots=2000).result()[0].data
    assert isinstance(data, DataBin) and data.a.get_counts() == {"10": 2000}
    assert set(data.b.get_counts()) == {"0", "1"} and abs(data.b.get_counts()["1"] - 1000) < 150


def test_broadcast_shapes_and_several_pubs_in_one_job(tmp_path):
    from qhil.execution.ledger import Ledger

    circuit = ansatz().measure_all(inplace=False)
    values = bindings(circuit, 6).reshape(2, 3, -1)
    sampler = Sampler(ledger=tmp_path / "ledger.sqlite", seed=5)
    result = sampler.run([(circuit, values), (circuit, values[0])], shots=100).result()
    assert result[0].data.meas.shape == (2, 3) and result[1].data.meas.shape == (3,)
    entries = Ledger(tmp_path / "ledger.sqlite").entries()
    assert len(entries) == 1 and entries[0].circuits == 9
    assert result[0].metadata["qhil_job_id"] == result[1].metadata["qhil_job_id"]


def test_mid_circuit_measurement_is_refused_with_one_line():
    circuit = QuantumCircuit(2, 2)
    circuit.measure(0, 0)
    circuit.h(0)
    circuit.measure(1, 1)
    with pytest.raises(RequestValidationError, match="after a measurement") as err:
        Sampler().run([circuit])
    assert "\n" not in str(err.value)


def test_estimator_matches_qiskit_within_its_reported_standard_error():
    circuit = ansatz()
    values = bindings(circuit, 4)
    observables = [[SparsePauliOp.from_list([("ZZI", 1.0), ("XII", 0.5)])],
                   [SparsePauliOp("YYZ")], [SparsePauliOp("III")]]
    ours = Estimator(seed=2).run([(circuit, observables, values)], precision=0.01).result()[0]
    ref = StatevectorEstimator().run([(circuit, observables, values)]).result()[0].data.evs
    assert ours.data.evs.shape == (3, 4) and ours.metadata["shots"] == 10_000
    assert np.all(np.abs(ours.data.evs - ref) <= 5 * ours.data.stds + 1e-9)
    assert np.allclose(ours.data.evs[2], 1.0) and np.allclose(ours.data.stds[2], 0.0)


@pytest.mark.parametrize("provider", ["aer", "braket-local"])
def test_the_sampler_runs_on_other_providers(provider):
    circuit = ansatz(2).measure_all(inplace=False)
    values = bindings(circuit, 2)
    data = Sampler(provider, seed=11).run([(circuit, values)], shots=3000).result()[0].data
    for row in range(2):
        assert_counts_match(data.meas.get_counts(row), exact_probabilities(circuit, values[row]),
                            3000)


def test_a_billing_device_without_a_budget_sends_nothing():
    with pytest.raises(UserError, match="bills") as err:
        Sampler("chaos-faults")
    assert "\n" not in str(err.value)


def test_a_billing_device_without_consent_sends_nothing():
    with pytest.raises(UserError, match="nothing was sent"):
        Estimator("chaos-faults", budget=1.0)


def test_a_run_the_budget_cannot_pay_is_refused_before_it_is_sent():
    sampler = Sampler("chaos-faults", budget=0.05, yes=True, seed=1)
    circuit = ansatz(2).measure_all(inplace=False)
    with pytest.raises(BudgetExceededError, match="nothing was sent"):
        sampler.run([(circuit, bindings(circuit, 50))], shots=1000).result()
    assert sampler.dispatcher.ledger.entries() == []


def test_with_a_budget_and_consent_it_spends_and_the_ledger_holds_it():
    sampler = Sampler("chaos-faults", budget=1000, yes=True, seed=1)
    circuit = ansatz(2).measure_all(inplace=False)
    result = sampler.run([(circuit, bindings(circuit, 2))], shots=100).result()
    (entry,) = sampler.dispatcher.ledger.entries()
    assert entry.cost_usd > 0 and result[0].metadata["cost_usd"] == str(entry.cost_usd)
