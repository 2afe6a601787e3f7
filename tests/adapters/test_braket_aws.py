"""The AWS path of BraketProvider against botocore Stubbers: the adapter code that would run on AWS."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from qhil import HDQNNAnsatz, JobStatus
from qhil.adapters.braket import BraketProvider
from qhil.adapters.braket_jobs import braket_error
from qhil.config import ProviderProfile
from qhil.errors import (
    AuthenticationError,
    JobFailedError,
    JobTimeoutError,
    PermanentProviderError,
    RequestValidationError,
    SubmissionTimeoutError,
    TransientProviderError,
)
from tests.adapters.braket_fakes import BUCKET, CREATED, ENDED, GARNET_ARN, FakeBraket
from tests.conftest import random_controls
from tests.reference import assert_within_shot_noise, reference_marginals

SHOTS = 2000
pytestmark = pytest.mark.usefixtures("seeded_braket")  # the fake samples with Braket's simulator


@pytest.fixture
def fake():
    service = FakeBraket()
    yield service
    service.finished()


def garnet(fake: FakeBraket) -> BraketProvider:
    profile = ProviderProfile(
        name="garnet-test", kind="braket", device=GARNET_ARN, limits={"max_qubits": 20, "max_shots": 20000},
        options={"s3_bucket": BUCKET, "s3_prefix": "qhil", "poll_interval_s": 0})
    return BraketProvider(profile, aws_session=fake.session, sleep=lambda s: None)


def request(rng, batch=8, entangler="data", shots=SHOTS, n=3):
    ansatz = HDQNNAnsatz(n, 2, entangler)
    return ansatz.request(random_controls(rng, ansatz, batch), shots=shots)


def complete(fake: FakeBraket, tasks: int, action: str = "braket.ir.openqasm.program_set") -> None:
    """Script the service answers for a finished job of `tasks` tasks, in the order they come."""
    for i in range(tasks):
        fake.state(i, "COMPLETED", action=action)  # polled by Job.status()
    for i in range(tasks):
        fake.results(i)                             # results.json from S3
        fake.state(i, "COMPLETED", action=action)  # the SDK re-reads the state after the download


def assert_sampled_from(marginals, req):
    assert_within_shot_noise(marginals, reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1]), req.shots)


def test_fixed_entangler_batch_is_one_program_set_task_with_one_circuit(fake, rng):
    req = request(rng, batch=8, entangler="ring")
    fake.device()
    fake.create(0)
    with garnet(fake) as provider:
        job = provider.submit(req)
        complete(fake, 1)
        res = job.result(timeout_s=5)
    action = json.loads(fake.sent[0]["action"])
    assert len(fake.sent) == 1 and fake.sent[0]["shots"] == 8 * SHOTS
    assert len(action["programs"]) == 1 and len(action["programs"][0]["inputs"]["p_0"]) == 8
    assert res.job_id == fake.task_arn(0) and res.shots == SHOTS
    assert all(sum(c.values()) == SHOTS for c in res.counts)
    assert_sampled_from(res.marginals, req)
    assert res.timings.accepted_at == CREATED.timestamp() and res.timings.finished_at == ENDED.timestamp()


def test_batch_is_chunked_by_maximum_executables_and_rows_keep_their_order(fake, rng):
    req = request(rng, batch=8)
    fake.device(max_executables=3)
    for i in range(3):
        fake.create(i)
    with garnet(fake) as provider:
        job = provider.submit(req)
        complete(fake, 3)
        res = job.result(timeout_s=5)
    assert [s["shots"] for s in fake.sent] == [3 * SHOTS, 3 * SHOTS, 2 * SHOTS]
    assert res.job_id == ",".join(fake.task_arn(i) for i in range(3))
    assert_sampled_from(res.marginals, req)


def test_batch_is_chunked_by_maximum_total_shots(fake, rng):
    req = request(rng, batch=5, entangler="chain")
    fake.device(max_total_shots=2 * SHOTS)
    for i in range(3):
        fake.create(i)
    with garnet(fake) as provider:
        provider.submit(req)
    assert [s["shots"] for s in fake.sent] == [2 * SHOTS, 2 * SHOTS, SHOTS]


def test_throttling_is_transient_and_not_retried_here_then_a_resubmission_succeeds(fake, rng):
    req = request(rng, batch=2, entangler="ring")
    fake.device()
    fake.create_error("ThrottlingException", 400, "Rate exceeded")
    fake.create(0)
    with garnet(fake) as provider:
        with pytest.raises(TransientProviderError, match="ThrottlingException: Rate exceeded"):
            provider.submit(req)
        job = provider.submit(req)
        complete(fake, 1)
        assert job.result(timeout_s=5).marginals.shape == (2, 3)
    assert len(fake.sent) == 2


def test_failure_mid_batch_cancels_the_created_tasks_and_reports_them(fake, rng):
    fake.device(max_executables=2)
    fake.create(0)
    fake.create_error("InternalServiceException", 500)
    fake.cancel(0)
    with garnet(fake) as provider, pytest.raises(TransientProviderError) as info:
        provider.submit(request(rng, batch=4))
    assert info.value.job_id == fake.task_arn(0) and info.value.billed
    assert "could not cancel" not in str(info.value)


def test_a_task_that_cannot_be_cancelled_is_named_in_the_error(fake, rng):
    fake.device(max_executables=2)
    fake.create(0)
    fake.create_error("InternalServiceException", 500)
    fake.braket.add_client_error("cancel_quantum_task", "AccessDeniedException", http_status_code=403)
    with garnet(fake) as provider, pytest.raises(TransientProviderError) as info:
        provider.submit(request(rng, batch=4))
    assert f"could not cancel {fake.task_arn(0)}" in str(info.value) and info.value.billed


def test_failed_task_raises_job_failed_with_the_service_reason(fake, rng):
    fake.device()
    fake.create(0)
    with garnet(fake) as provider:
        job = provider.submit(request(rng, batch=2))
        fake.state(0, "FAILED", reason="Device calibration in progress")
        with pytest.raises(JobFailedError, match="Device calibration in progress"):
            job.result(timeout_s=5)


def test_status_follows_the_service_and_result_times_out_while_queued(fake, rng):
    fake.device()
    fake.create(0)
    with garnet(fake) as provider:
        job = provider.submit(request(rng, batch=2))
        fake.state(0, "QUEUED", ended=False)
        assert job.status() is JobStatus.QUEUED
        fake.state(0, "RUNNING", ended=False)
        assert job.status() is JobStatus.RUNNING
        fake.state(0, "QUEUED", ended=False)
        with pytest.raises(JobTimeoutError, match="still QUEUED"):
            job.result(timeout_s=0)


def test_attach_by_task_arns_rebuilds_the_result(fake, rng):
    req = request(rng, batch=6)
    fake.device(max_executables=4)
    fake.create(0)
    fake.create(1)
    with garnet(fake) as provider:
        job_id = provider.submit(req).job_id
    with garnet(fake) as restarted:
        job = restarted.attach(job_id)
        complete(fake, 2)
        res = job.result(timeout_s=5)
    assert res.job_id == job_id and res.marginals.shape == (6, 3)
    assert_sampled_from(res.marginals, req)
    assert job.metrics().usage["tasks"] == 2


def test_device_without_program_sets_gets_one_task_per_circuit(fake, rng):
    req = request(rng, batch=3)
    fake.device(program_sets=False)
    for i in range(3):
        fake.create(i)
    with garnet(fake) as provider:
        job = provider.submit(req)
        complete(fake, 3, action="braket.ir.openqasm.program")
        res = job.result(timeout_s=5)
    assert [s["shots"] for s in fake.sent] == [SHOTS] * 3
    assert_sampled_from(res.marginals, req)


def test_offline_device_is_transient_and_nothing_is_created(fake, rng):
    fake.device(status="OFFLINE")
    with garnet(fake) as provider, pytest.raises(TransientProviderError, match="OFFLINE"):
        provider.submit(request(rng, batch=2))
    assert fake.sent == []


def test_device_limits_are_checked_before_any_task_is_created(fake, rng):
    fake.device(max_total_shots=1000)
    with garnet(fake) as provider, pytest.raises(RequestValidationError, match="total shots"):
        provider.submit(request(rng, batch=2, shots=1500))
    assert fake.sent == []


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "CreateQuantumTask")


@pytest.mark.parametrize("exc, expected", [
    (client_error("ThrottlingException", 400), TransientProviderError),
    (client_error("InternalServiceException", 500), TransientProviderError),
    (client_error("SomethingNew", 503), TransientProviderError),
    (client_error("DeviceOfflineException", 424), TransientProviderError),
    (client_error("AccessDeniedException", 403), AuthenticationError),
    (client_error("UnrecognizedClientException", 403), AuthenticationError),
    (client_error("ValidationException", 400), PermanentProviderError),
    (client_error("DeviceRetiredException", 410), PermanentProviderError),
    (EndpointConnectionError(endpoint_url="https://braket"), TransientProviderError),
    (ReadTimeoutError(endpoint_url="https://braket"), SubmissionTimeoutError),
])
def test_vendor_errors_map_into_the_qhil_tree(exc, expected):
    error = braket_error(exc, "create task")
    assert type(error) is expected
    if expected is PermanentProviderError:
        assert not isinstance(error, TransientProviderError)


def test_find_submitted_reattaches_a_batch_created_before_an_ambiguous_failure(fake, rng):
    req = request(rng, batch=6)
    fake.device(max_executables=4)
    fake.create(0)
    fake.create(1)
    with garnet(fake) as provider:
        first = provider.submit(req)
        tags = [s["tags"] for s in fake.sent]
        assert tags[1] == {"qhil-request": req.digest(), "qhil-chunk": "1/2"}
        other = {"qhil-request": "another batch", "qhil-chunk": "0/1"}
        fake.search([(7, "COMPLETED", other), (1, "QUEUED", tags[1]), (0, "RUNNING", tags[0])])
        found = provider.find_submitted(req, created_after=CREATED.timestamp() - 60)
        assert found is not None and found.job_id == first.job_id
        fake.search([(0, "CANCELLED", tags[0]), (1, "QUEUED", tags[1])])
        assert provider.find_submitted(req, created_after=CREATED.timestamp() - 60) is None


def test_find_job_by_dispatcher_token_reattaches_the_batch(fake, rng):
    from dataclasses import replace

    from qhil.execution.provider import TOKEN_TAG

    req = replace(request(rng, batch=6), tags={TOKEN_TAG: "tok-123"})
    fake.device(max_executables=4)
    fake.create(0)
    fake.create(1)
    with garnet(fake) as provider:
        assert provider.supports_lookup
        first = provider.submit(req)
        tags = [s["tags"] for s in fake.sent]
        assert all(t[TOKEN_TAG] == "tok-123" for t in tags)
        fake.search([(1, "QUEUED", tags[1]), (0, "RUNNING", tags[0])])
        found = provider.find_job("tok-123")
        assert found is not None and found.job_id == first.job_id
        fake.search([(0, "QUEUED", {**tags[0], TOKEN_TAG: "other"})])
        assert provider.find_job("tok-123") is None
