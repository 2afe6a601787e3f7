"""The IBM adapter's cloud path against a scripted runtime, and its vendor error mapping."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import (
    IBMInputValueError,
    IBMNotAuthorizedError,
    RuntimeJobFailureError,
)

from qhil import HDQNNAnsatz, JobStatus
from qhil.adapters.qiskit_errors import qiskit_error
from qhil.adapters.qiskit_runtime import NO_CREDENTIALS, IBMProvider
from qhil.config import find_profile
from qhil.errors import (
    AuthenticationError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
    PermanentProviderError,
    RequestValidationError,
    SubmissionTimeoutError,
    TransientProviderError,
)
from qhil.execution.registry import availability
from tests.adapters.scripted_runtime import ScriptedRuntime
from tests.conftest import random_controls
from tests.reference import reference_marginals


def cloud(runtime: ScriptedRuntime) -> IBMProvider:
    provider = IBMProvider(find_profile("ibm-torino"), client=runtime)
    provider.poll_s = 0.0
    return provider


def data_request(rng, batch=6, shots=4000):
    ansatz = HDQNNAnsatz(3, 2)
    return ansatz.request(random_controls(rng, ansatz, batch), shots=shots)


def test_one_job_per_batch_one_pub_per_structure_rows_in_order(rng):
    runtime = ScriptedRuntime()
    req = data_request(rng)
    res = cloud(runtime).submit(req).result(timeout_s=30)
    (job,) = runtime.jobs.values()
    assert runtime.runs == 1 and len(job.inputs["pubs"]) == len(req.structures())
    assert all(v.shape[0] == len(rows) for (_, v), rows in zip(job.inputs["pubs"],
                                                             req.structures().values(), strict=True))
    sigma = np.sqrt(0.25 / req.shots)
    assert np.abs(res.marginals - reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1])).max() < 5 * sigma
    assert all(sum(c.values()) == req.shots for c in res.counts)


def test_states_timestamps_and_usage_come_from_the_service(rng):
    runtime = ScriptedRuntime(states=["INITIALIZING", "QUEUED", "QUEUED", "RUNNING", "DONE"])
    job = cloud(runtime).submit(data_request(rng))
    assert job.status() is JobStatus.QUEUED
    res = job.result(timeout_s=30)
    assert job.status() is JobStatus.DONE and res.usage == {"qpu_s": 1.25}
    t = res.timings
    assert t.execution_s == pytest.approx(2.0) and t.running_at - t.accepted_at == pytest.approx(30)
    assert t.submitted_at <= t.finished_at <= t.fetched_at


def test_result_timeout_leaves_job_queued_then_attach_by_id(rng):
    runtime = ScriptedRuntime(states=["QUEUED"])
    provider = cloud(runtime)
    job = provider.submit(data_request(rng))
    with pytest.raises(JobTimeoutError, match="still QUEUED"):
        job.result(timeout_s=0.01)
    runtime.jobs[job.job_id]._states.extend(["RUNNING", "DONE"])
    runtime.jobs[job.job_id]._states.popleft()
    again = cloud(runtime).attach(job.job_id).result(timeout_s=30)
    np.testing.assert_array_equal(again.marginals, job.result(timeout_s=30).marginals)


def test_fixed_entangler_batch_is_one_pub_and_transpiled_once(rng):
    runtime = ScriptedRuntime()
    provider = cloud(runtime)
    ansatz = HDQNNAnsatz(3, 2, "ring")
    for _ in range(3):
        provider.submit(ansatz.request(random_controls(rng, ansatz, 8), shots=100)).result(30)
    assert all(len(j.inputs["pubs"]) == 1 for j in runtime.jobs.values())
    cache = provider.transpile_cache
    assert (cache.misses, cache.hits) == (1, 2) and cache.hit_rate == pytest.approx(2 / 3)


def test_throttling_and_connection_loss_are_transient_and_not_retried_here(rng):
    runtime = ScriptedRuntime(submit_errors=[
        RequestsApiError("Error code 1202: too many requests", status_code=429)])
    provider = cloud(runtime)
    with pytest.raises(TransientProviderError, match="1202"):
        provider.submit(data_request(rng))
    assert runtime.runs == 1
    assert provider.submit(data_request(rng)).result(30).marginals.shape == (6, 3)


@pytest.mark.parametrize("exc,cls", [
    (RequestsApiError("'503 Service Unavailable'", status_code=503), TransientProviderError),
    (ConnectionError("connection reset by peer"), TransientProviderError),
    (TimeoutError("read timed out"), SubmissionTimeoutError),
    (IBMInputValueError("session has expired"), TransientProviderError),
    (RequestsApiError("'401 Client Error: Unauthorized'", status_code=401), AuthenticationError),
    (IBMNotAuthorizedError("not authorized"), AuthenticationError),
    (IBMInputValueError("The number of executions exceeds the limit"), PermanentProviderError),
    (ValueError("circuit is not ISA"), PermanentProviderError),
])
def test_vendor_errors_map_into_the_qhil_tree_keeping_the_message(exc, cls):
    mapped = qiskit_error(exc)
    assert type(mapped) is cls and str(exc) in str(mapped)


def test_failed_jobs_are_job_failed_billed_unless_system_error(rng):
    user = ScriptedRuntime(failure=RuntimeJobFailureError("Error code 1517; invalid ISA circuit"))
    system = ScriptedRuntime(failure=RuntimeJobFailureError("Error code 9999; internal error"))
    with pytest.raises(JobFailedError, match="1517") as user_err:
        cloud(user).submit(data_request(rng)).result(30)
    with pytest.raises(JobFailedError, match="internal error") as system_err:
        cloud(system).submit(data_request(rng)).result(30)
    assert user_err.value.job_id and system_err.value.billed is False


def test_cancelled_job_raises_cancelled(rng):
    runtime = ScriptedRuntime(states=["QUEUED"])
    job = cloud(runtime).submit(data_request(rng))
    assert job.cancel()
    with pytest.raises(JobCancelledError):
        job.result(timeout_s=30)


def test_attach_to_unknown_job_is_permanent():
    with pytest.raises(PermanentProviderError, match="not found"):
        cloud(ScriptedRuntime()).attach("d-missing")


def test_execution_limit_refused_before_submission(rng):
    runtime = ScriptedRuntime()
    with pytest.raises(RequestValidationError, match="executions"):
        cloud(runtime).submit(data_request(rng, batch=200, shots=60_000))
    assert runtime.runs == 0


def test_cloud_profile_without_credentials_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    status = availability(find_profile("ibm-torino"))
    assert not status.usable and status.reason == NO_CREDENTIALS
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "not-a-real-token")
    assert availability(find_profile("ibm-torino")).usable


class _ServiceOverFakeBackend:
    """A QiskitRuntimeService stand-in whose backend() is a (small, 5-qubit) fake backend, so
    the client-side Sampler in job, batch or session mode runs through the SDK's own local testing service."""

    def __init__(self):
        from qhil.adapters.qiskit_backends import fake_backend

        self.asked: list[str] = []
        self._backend = fake_backend("FakeManilaV2")

    def backend(self, name: str):
        self.asked.append(name)
        return self._backend


@pytest.mark.parametrize("mode", ["job", "batch", "session"])
def test_cloud_client_execution_modes_run_through_sampler(mode, rng):
    from qhil.adapters.qiskit_clients import CloudRuntimeClient

    service = _ServiceOverFakeBackend()
    client = CloudRuntimeClient(service, "ibm_torino", mode)
    provider = IBMProvider(find_profile("ibm-torino"), client=client)
    res = provider.submit(data_request(rng, batch=2, shots=50)).result(timeout_s=120)
    assert res.marginals.shape == (2, 3) and service.asked == ["ibm_torino"]
    provider.close()


def test_unknown_execution_mode_is_a_config_error():
    from qhil.adapters.qiskit_clients import CloudRuntimeClient
    from qhil.errors import ConfigError

    with pytest.raises(ConfigError, match="job, batch, session"):
        CloudRuntimeClient(object(), "ibm_torino", "dedicated")


def test_dispatcher_token_travels_as_a_job_tag_and_finds_the_job(rng):
    from dataclasses import replace

    from qhil.execution.provider import TOKEN_TAG

    runtime = ScriptedRuntime()
    provider = cloud(runtime)
    assert provider.supports_lookup
    req = replace(data_request(rng), tags={TOKEN_TAG: "tok-9"})
    job = provider.submit(req)
    found = provider.find_job("tok-9")
    assert found is not None and found.job_id == job.job_id
    assert provider.find_job("another-token") is None
    np.testing.assert_allclose(found.result(timeout_s=60).marginals,
                               job.result(timeout_s=60).marginals)


def test_dry_run_asks_the_service_and_runs_nothing(rng):
    runtime = ScriptedRuntime()
    dry = cloud(runtime).dry_run(data_request(rng), timeout_s=30)
    assert runtime.runs == 0 and len(runtime.dry_runs) == 1
    assert dry.job_id == runtime.dry_runs[0].job_id() and dry.usage == {"qpu_s": 1.25}
    assert "1.25 QPU s" in dry.describe()


def test_dry_run_refuses_a_batch_over_the_limit_before_the_service(rng):
    runtime = ScriptedRuntime()
    with pytest.raises(RequestValidationError, match="executions"):
        cloud(runtime).dry_run(data_request(rng, batch=200, shots=60_000))
    assert runtime.dry_runs == []


def test_dry_run_rejection_is_a_qhil_error(rng):
    runtime = ScriptedRuntime(failure=RuntimeJobFailureError("Error code 1517; invalid ISA circuit"))
    with pytest.raises(JobFailedError, match="1517"):
        cloud(runtime).dry_run(data_request(rng), timeout_s=30)


def test_local_testing_mode_has_no_dry_run(rng):
    provider = IBMProvider(find_profile("ibm-fake-torino"))
    assert provider.dry_run(data_request(rng)) is None and provider._client is None


def test_cloud_client_hands_dry_run_to_the_sdk(rng):
    from qhil.adapters.qiskit_clients import CloudRuntimeClient

    provider = IBMProvider(find_profile("ibm-torino"),
                           client=CloudRuntimeClient(_ServiceOverFakeBackend(), "ibm_torino"))
    with pytest.warns(UserWarning, match="dry-run"):  # the SDK's Executor saw dry_run=True
        provider.dry_run(data_request(rng, batch=2, shots=20), timeout_s=120)


def test_reattached_job_without_qhil_layout_is_permanent(rng):
    from qiskit import QuantumCircuit

    runtime = ScriptedRuntime()
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    job = runtime.run([(circuit,)], 10, None)
    with pytest.raises(PermanentProviderError, match="row layout"):
        cloud(runtime).attach(job.job_id()).result(timeout_s=30)
