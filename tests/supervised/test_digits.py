"""The supervised digits hDQNN: a smoke run of the real training loop on the real data set."""

from __future__ import annotations

import math

from qhil.supervised.digits import DigitsConfig, digits_data, digits_template, train_digits


def test_digits_data_ships_with_sklearn_and_splits_seeded():
    x_train, y_train, x_test, y_test = digits_data(seed=0)
    assert x_train.shape[1] == 64 and len(x_train) + len(x_test) == 1797
    assert set(y_test.tolist()) == set(range(10))
    assert (digits_data(seed=0)[1] == y_train).all()


def test_smoke_training_records_fidelity_and_counts_circuits():
    config = DigitsConfig(gradient="qtdnn", n_qubits=6, epochs=1, train_batches=3, shots=200)
    result = train_digits(config)
    assert 0.0 <= result.test_accuracy <= 1.0 and len(result.losses) == 1
    assert len(result.grad_cosines) == 3 and all(-1 <= c <= 1 for c in result.grad_cosines)
    assert result.circuits == 3 * 64 + 540  # training batches + the test set, all sampled
    assert not math.isnan(result.mean_grad_rel_error)


def test_template_has_a_last_ry_layer():
    template = digits_template(6, 1)
    assert template.n_params == 3 * 6 and template.gates[-1].name == "ry"
