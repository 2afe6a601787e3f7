"""The test helpers' own statistics: the shot-noise band is the exact binomial one."""

import numpy as np

from tests.reference import binomial_band


def test_binomial_band_is_the_exact_quantiles():
    # scipy.stats.binom.ppf / isf at 1e-6 / (2 * 3) give these counts
    low, high = binomial_band(np.array([0.5, 0.0076, 0.9924]), 400, false_alarm=1e-6)
    np.testing.assert_allclose(low * 400, [149, 0, 385], atol=1e-9)
    np.testing.assert_allclose(high * 400, [251, 15, 400], atol=1e-9)


def test_binomial_band_is_lopsided_where_a_gaussian_band_is_not():
    low, high = binomial_band(np.array([0.9924]), 400)
    gaussian = 5 * np.sqrt(0.9924 * 0.0076 / 400)
    assert 0.9924 - low[0] > gaussian > high[0] - 0.9924  # 12 stray failures in 400 are possible


def test_binomial_band_of_certain_outcomes_is_a_point():
    low, high = binomial_band(np.array([0.0, 1.0]), 2000)
    np.testing.assert_array_equal(low, [0, 1])
    np.testing.assert_array_equal(high, [0, 1])
