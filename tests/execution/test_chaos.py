"""The chaos provider's raw faults, seen without the Dispatcher."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qhil import JobStatus, get_provider
from qhil.adapters.chaos import ChaosSettings
from qhil.errors import (
    ConfigError,
    JobFailedError,
    JobTimeoutError,
    PermanentProviderError,
    SubmissionTimeoutError,
    TransientProviderError,
)
from qhil.execution.provider import TOKEN_TAG
from tests.execution.helpers import chaos_profile, small_request


def tagged(rng, token="tok-1", **kw):
    request = small_request(rng, **kw)
    return replace(request, tags={TOKEN_TAG: token})


def test_throttling_creates_nothing(tmp_path, rng):
    with get_provider(chaos_profile(tmp_path, submit_failure_rate=1.0)) as p:
        with pytest.raises(TransientProviderError, match="429"):
            p.submit(tagged(rng))
        assert p.stats["accepted"] == 0 and p.find_job("tok-1") is None


def test_a_timed_out_submission_exists_and_is_found_by_its_tag(tmp_path, rng):
    with get_provider(chaos_profile(tmp_path, submit_timeout_rate=1.0)) as p:
        with pytest.raises(SubmissionTimeoutError) as info:
            p.submit(tagged(rng))
        assert info.value.job_id is None and p.stats["accepted"] == 1
        found = p.find_job("tok-1")
        assert found.result(timeout_s=60).marginals.shape == (4, 3)
        assert p.find_job("other") is None


def test_a_lost_result_stays_lost_on_its_handle_but_attach_fetches_it(tmp_path, rng):
    with get_provider(chaos_profile(tmp_path, lost_result_rate=1.0)) as p:
        job = p.submit(small_request(rng))
        for _ in range(2):
            with pytest.raises(TransientProviderError, match="lost") as info:
                job.result(timeout_s=60)
        assert info.value.job_id == job.job_id
        assert p.attach(job.job_id).result(timeout_s=60).job_id == job.job_id


def test_a_duplicate_delivery_fails_once_then_delivers_again(tmp_path, rng):
    with get_provider(chaos_profile(tmp_path, duplicate_delivery_rate=1.0)) as p:
        job = p.submit(small_request(rng))
        with pytest.raises(TransientProviderError, match="delivered again"):
            job.result(timeout_s=60)
        job.result(timeout_s=60)
        assert p.stats["deliveries"] == 2 and p.stats["duplicate_deliveries"] == 1


def test_latency_delays_the_result_and_counts_as_queue_time(tmp_path, rng):
    with get_provider(chaos_profile(tmp_path, latency_median_s=0.3, latency_p95_s=0.3)) as p:
        job = p.submit(small_request(rng))
        with pytest.raises(JobTimeoutError):
            job.result(timeout_s=0.05)
        assert job.status() in (JobStatus.QUEUED, JobStatus.RUNNING)
        result = job.result(timeout_s=60)
        assert result.timings.queue_s >= 0.3 and result.provider == "chaos-test"
        with pytest.raises(PermanentProviderError, match="no job"):
            p.attach("nope")


def test_same_seed_same_faults(tmp_path, rng):
    path = chaos_profile(tmp_path, submit_failure_rate=0.5, latency_median_s=0.001,
                         latency_p95_s=0.002)
    outcomes = []
    for _ in range(2):
        with get_provider(path) as p:
            seen = []
            for _ in range(12):
                try:
                    p.submit(small_request(rng)).result(timeout_s=60)
                    seen.append("ok")
                except TransientProviderError:
                    seen.append("throttled")
            outcomes.append(seen)
    assert outcomes[0] == outcomes[1] and {"ok", "throttled"} == set(outcomes[0])


def test_lognormal_latency_matches_median_and_p95():
    settings = ChaosSettings(inner="local", latency_median_s=0.1, latency_p95_s=0.4)
    rng = np.random.default_rng(0)
    draws = np.array([settings.latency_s(rng) for _ in range(20000)])
    assert abs(np.median(draws) - 0.1) < 0.005 and abs(np.percentile(draws, 95) - 0.4) < 0.03


@pytest.mark.parametrize("options,field", [({"submit_failure_rate": 1.5}, ".submit_failure_rate"),
                                           ({"latncy_median_s": 1.0}, ".latncy_median_s"),
                                           ({"latency_median_s": 2.0, "latency_p95_s": 1.0}, "': Value error, latency_p95_s")])
def test_bad_options_name_the_file_and_field(tmp_path, options, field):
    path = chaos_profile(tmp_path, **options)
    with pytest.raises(ConfigError, match=f"chaos-test.toml: field 'options{field}"):
        get_provider(path)


def test_a_service_dir_keeps_jobs_for_another_process(tmp_path, rng):
    path = chaos_profile(tmp_path, service_dir=str(tmp_path / "service"))
    request = tagged(rng, token="tok-7", seed=None)
    with get_provider(path) as first:
        job = first.submit(request)
        original = job.result(timeout_s=60)
    with get_provider(path) as second:  # a new process: nothing in memory
        again = second.attach(job.job_id).result(timeout_s=60)
        assert second.find_job("tok-7").job_id == job.job_id and second.find_job("x") is None
        assert second.stats["accepted"] == 0 and second.stats["reattached_from_service"] == 1
        with pytest.raises(PermanentProviderError):
            second.attach("no-such-job")
    np.testing.assert_array_equal(again.marginals, original.marginals)
    assert again.job_id == job.job_id


def test_a_failed_job_raises_job_failed_unbilled(tmp_path, rng):
    with get_provider(chaos_profile(tmp_path, job_failure_rate=1.0)) as p:
        job = p.submit(small_request(rng))
        with pytest.raises(JobFailedError, match="system error") as info:
            job.result(timeout_s=60)
        assert not info.value.billed and job.status() is JobStatus.FAILED


def test_a_partial_failure_is_transient_billed_and_creates_no_job(tmp_path, rng):
    with get_provider(chaos_profile(tmp_path, partial_failure_rate=1.0)) as p:
        with pytest.raises(TransientProviderError, match="cancelled") as info:
            p.submit(tagged(rng))
        assert info.value.billed and p.stats["accepted"] == 0 and p.find_job("tok-1") is None
