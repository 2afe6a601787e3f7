"""Results survive the ledger's byte encoding exactly, and no pickle is involved."""

from __future__ import annotations

import numpy as np
import pytest

from qhil.execution.job import JobTimings, SamplingResult
from qhil.execution.resultcodec import decode_result, encode_result


def test_round_trip_is_exact_and_compact(rng):
    counts = [{format(k, "010b"): int(v) for k, v in enumerate(rng.integers(1, 5, 100))}
              for _ in range(256)]
    result = SamplingResult(marginals=rng.random((256, 10)), shots=300, counts=counts,
                            job_id="a,b", provider="p", timings=JobTimings(1.0, 2.0, None, 4.0, 5.0),
                            usage={"qpu_s": 1.5})
    blob = encode_result(result)
    back = decode_result(blob)
    np.testing.assert_array_equal(back.marginals, result.marginals)
    assert back.counts == counts and back.timings == result.timings and back.usage == result.usage
    assert (back.shots, back.job_id, back.provider) == (300, "a,b", "p")
    assert len(blob) < len(repr(counts)) / 1.5


def test_exact_results_without_counts(rng):
    result = SamplingResult(rng.random((2, 3)), None, None, "j", "p", JobTimings(0.0))
    assert decode_result(encode_result(result)).counts is None


def test_exact_probabilities_round_trip(rng):
    probs = rng.random((2, 8))
    result = SamplingResult(rng.random((2, 3)), None, None, "j", "p", JobTimings(0.0),
                            probabilities=probs)
    np.testing.assert_array_equal(decode_result(encode_result(result)).probabilities, probs)


def test_foreign_bytes_are_refused():
    with pytest.raises(ValueError, match="not a qhil result"):
        decode_result(b"\x80\x04pickle")


def test_empty_and_mixed_width_counts(rng):
    for counts in ([{}, {"1": 3}], [{"01": 1, "1": 2}], [{}]):
        result = SamplingResult(rng.random((len(counts), 2)), 3, counts, "j", "p", JobTimings(0.0))
        assert decode_result(encode_result(result)).counts == counts


def test_wide_registers_keep_their_bitstrings(rng):
    counts = [{"1" * 70: 2, "0" * 70: 1}]
    result = SamplingResult(rng.random((1, 70)), 3, counts, "j", "p", JobTimings(0.0))
    assert decode_result(encode_result(result)).counts == counts
