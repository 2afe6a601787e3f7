"""Results survive the ledger's byte encoding exactly, and no pickle is involved."""

from __future__ import annotations

import numpy as np
import pytest

from qhil.execution.job import JobTimings, SamplingResult
from qhil.execution.resultcodec import decode_result, encode_result


def test_round_trip_is_exact_and_compressed(rng):
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
    assert len(blob) < len(repr(counts)) / 2


def test_exact_results_without_counts(rng):
    result = SamplingResult(rng.random((2, 3)), None, None, "j", "p", JobTimings(0.0))
    assert decode_result(encode_result(result)).counts is None


def test_foreign_bytes_are_refused():
    with pytest.raises(ValueError, match="not a qhil result"):
        decode_result(b"\x80\x04pickle")
