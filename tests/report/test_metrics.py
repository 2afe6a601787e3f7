"""Distances, marginals and the dry-run noise prediction."""

from __future__ import annotations

import numpy as np
import torch

from qhil.calibration import Calibration, ErrorRates
from qhil.quantum.noise import NoiseModel
from qhil.report.metrics import (
    batch_fidelity,
    hellinger_fidelity,
    percentile,
    probability_marginals,
    total_variation,
)
from qhil.report.predict import noisy_distribution, readout_confusion


def test_distances_of_equal_disjoint_and_known_pairs():
    p = np.array([0.5, 0.5, 0, 0])
    assert hellinger_fidelity(p, p) == 1.0 and total_variation(p, p) == 0.0
    q = np.array([0, 0, 0.5, 0.5])
    assert hellinger_fidelity(p, q) == 0.0 and total_variation(p, q) == 1.0
    r = np.array([1.0, 0, 0, 0])
    assert np.isclose(hellinger_fidelity(p, r), 0.5) and np.isclose(total_variation(p, r), 0.5)


def test_probability_marginals_read_qubit_zero_as_most_significant():
    probs = np.zeros((1, 8))
    probs[0, 0b100] = 1.0  # qubit 0 reads 1
    np.testing.assert_allclose(probability_marginals(probs), [[1, 0, 0]])


def test_batch_fidelity_from_counts():
    ideal = np.array([[0.5, 0, 0, 0.5]])
    perfect = batch_fidelity(ideal, np.array([[0.5, 0.5]]), [{"00": 50, "11": 50}])
    assert perfect.hellinger_fidelity == 1.0 and perfect.tvd == 0.0 and perfect.marginal_mae == 0
    skewed = batch_fidelity(ideal, np.array([[0.0, 0.0]]), [{"00": 75, "01": 25}])
    assert np.isclose(skewed.tvd, 0.5) and np.isclose(skewed.marginal_mae, 0.375)
    no_counts = batch_fidelity(ideal, np.array([[0.4, 0.6]]), None)
    assert no_counts.hellinger_fidelity is None and np.isclose(no_counts.marginal_mae, 0.1)


def test_readout_confusion_agrees_with_the_noise_model_marginals():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(8), size=3)
    confused = readout_confusion(probs, 3, p01=0.05, p10=0.1)
    np.testing.assert_allclose(confused.sum(axis=1), 1.0)
    noise = NoiseModel(readout_p01=(0.05,) * 3, readout_p10=(0.1,) * 3)
    expected = noise.readout_marginals(torch.from_numpy(probability_marginals(probs))).numpy()
    np.testing.assert_allclose(probability_marginals(confused), expected, atol=1e-12)


def test_noisy_distribution_is_ideal_without_errors_and_worse_with_them():
    ideal = np.array([[0.5, 0, 0, 0.5]])
    clean = Calibration(device="x", source="t", date="2026-01-01")
    np.testing.assert_allclose(noisy_distribution(ideal, 2, clean), ideal)
    noisy = clean.model_copy(update={"errors": ErrorRates(gate_2q=0.05, readout_p01=0.02)})
    assert hellinger_fidelity(noisy_distribution(ideal, 2, noisy)[0], ideal[0]) < 0.99


def test_percentile_ignores_unknown_values():
    assert percentile([None, 1.0, 3.0], 50) == 2.0 and percentile([None], 50) is None
