"""What every provider must do, whatever its SDK. Parametrised over tests/conformance/cases.py."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qhil import HDQNNAnsatz, JobStatus, get_provider
from qhil.errors import JobTimeoutError, RequestValidationError
from qhil.quantum.request import SamplingRequest
from tests.conformance.cases import CASES, ProviderCase
from tests.conftest import random_controls
from tests.reference import assert_within_shot_noise, reference_marginals

SHOTS = 2000


@pytest.fixture(params=CASES, ids=lambda c: c.name)
def case(request) -> ProviderCase:
    return request.param


@pytest.fixture
def provider(case):
    with get_provider(case.name) as p:
        yield p


def small_request(rng, shots=SHOTS, seed=11, batch=6) -> SamplingRequest:
    ansatz = HDQNNAnsatz(3, 2)
    return ansatz.request(random_controls(rng, ansatz, batch), shots=shots, seed=seed)


def test_result_shapes_counts_and_range(provider, rng):
    req = small_request(rng)
    res = provider.submit(req).result(timeout_s=600)
    assert res.marginals.shape == (6, 3) and res.shots == SHOTS
    assert ((res.marginals >= 0) & (res.marginals <= 1)).all()
    assert res.provider == provider.name and res.job_id
    if res.counts is not None:
        assert len(res.counts) == 6 and all(sum(c.values()) == SHOTS for c in res.counts)
        assert all(len(bits) == 3 for c in res.counts for bits in c)


def test_sampled_marginals_agree_with_exact_within_shot_noise(provider, case, rng, seeded_braket):
    req = small_request(rng)
    res = provider.submit(req).result(timeout_s=600)
    ideal = reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1])
    assert_within_shot_noise(res.marginals, ideal, SHOTS, slack=case.noise_tolerance)


def test_same_seed_same_samples(provider, rng):
    req = small_request(rng)
    if not provider.capabilities().supports_seed:
        # No seed support (Braket): a seeded request is still accepted and sampled afresh.
        res = provider.submit(req).result(timeout_s=600)
        assert res.marginals.shape == (6, 3) and res.shots == SHOTS
        return
    a, b = (provider.submit(req).result(timeout_s=600) for _ in range(2))
    np.testing.assert_array_equal(a.marginals, b.marginals)
    other = replace(req, seed=12)
    assert not np.array_equal(provider.submit(other).result(timeout_s=600).marginals, a.marginals)


def test_exact_marginals_where_supported_else_refused(provider, case, rng):
    req = small_request(rng, shots=None)
    if not provider.capabilities().supports_exact:
        with pytest.raises(RequestValidationError):
            provider.submit(req)
        return
    res = provider.submit(req).result(timeout_s=600)
    tolerance = 1e-5 + case.noise_tolerance
    np.testing.assert_allclose(res.marginals, reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1]), atol=tolerance)


def test_validation_happens_before_submission(provider, rng):
    caps = provider.capabilities()
    too_wide = HDQNNAnsatz(caps.max_qubits + 1, 1)
    with pytest.raises(RequestValidationError, match="qubits"):
        provider.submit(too_wide.request(np.zeros((1, too_wide.control_dim)), shots=10))
    with pytest.raises(RequestValidationError, match="shots"):
        provider.submit(small_request(rng, shots=caps.max_shots + 1))


def test_result_timeout_leaves_the_job_running(provider, case, rng):
    n, layers, batch = case.slow_batch
    ansatz = HDQNNAnsatz(min(n, provider.capabilities().max_qubits), layers)
    job = provider.submit(ansatz.request(random_controls(rng, ansatz, batch), shots=10))
    with pytest.raises(JobTimeoutError):
        job.result(timeout_s=1e-4)
    assert job.result(timeout_s=600).marginals.shape == (batch, ansatz.n_qubits)


def test_status_metrics_and_attach(provider, rng):
    job = provider.submit(small_request(rng))
    assert job.status() in set(JobStatus)
    res = job.result(timeout_s=600)
    assert job.status() is JobStatus.DONE
    m = job.metrics()
    assert m.job_id == job.job_id and m.status is JobStatus.DONE
    t = res.timings
    assert t.submitted_at <= t.finished_at <= t.fetched_at and t.round_trip_s >= 0
    again = provider.attach(job.job_id).result(timeout_s=600)
    np.testing.assert_array_equal(again.marginals, res.marginals)
