"""The IBM adapter's cloud path through the real client-side Sampler and Executor, down to the
one call that would leave the machine: `QiskitRuntimeService._run(program_id, options, inputs,
...)`. A recording service stands in for that call (and for session creation), so what is tested
is the request the SDK would send: one executor job per batch, one program item per circuit
structure, the Dispatcher's token as a job tag, the execution mode's session, and dry runs.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import pytest
from qiskit_ibm_runtime import QiskitRuntimeService
from qiskit_ibm_runtime.ibm_backend import IBMBackend

from qhil import HDQNNAnsatz
from qhil.adapters.qiskit_backends import fake_backend
from qhil.adapters.qiskit_clients import CloudRuntimeClient
from qhil.adapters.qiskit_runtime import IBMProvider
from qhil.config import find_profile
from qhil.execution.provider import TOKEN_TAG
from tests.conftest import random_controls


class _Sessions:
    """The runtime API client's session calls, recorded."""

    def __init__(self):
        self.created: list[str] = []
        self.closed: list[str] = []

    def create_session(self, backend, instance, max_time, mode, **kwargs):
        self.created.append(mode)
        return {"id": f"session-{len(self.created)}"}

    def close_session(self, session_id):
        self.closed.append(session_id)


class _Submitted:
    """The job object `_run` returns; only its id is needed here."""

    def __init__(self, job_id: str):
        self._id = job_id

    def job_id(self) -> str:
        return self._id


class RecordingService(QiskitRuntimeService):
    """QiskitRuntimeService with no network: `_run` records what the SDK would send."""

    def __init__(self):  # noqa: D107 - the real __init__ reads accounts and calls the cloud
        self.runs: list[dict] = []
        self.sessions = _Sessions()
        self._backend = _Backend(self)

    def backend(self, name=None, instance=None, use_fractional_gates=False):
        return self._backend

    def _get_api_client(self, instance=None):
        return self.sessions

    def _run(self, **kwargs):
        self.runs.append(kwargs)
        return _Submitted(f"job-{len(self.runs)}")


class _Backend(IBMBackend):
    """An IBMBackend with FakeManilaV2's configuration and target (no properties download)."""

    def __init__(self, service):
        self._fake = fake_backend("FakeManilaV2")
        super().__init__(configuration=self._fake.configuration(), service=service,
                         api_client=None)

    @property
    def target(self):
        return self._fake.target


def provider(mode: str = "job") -> tuple[IBMProvider, RecordingService]:
    service = RecordingService()
    client = CloudRuntimeClient(service, "fake_manila", mode)
    return IBMProvider(find_profile("ibm-torino"), client=client), service


def data_request(rng, batch=6, shots=200):
    ansatz = HDQNNAnsatz(3, 2)
    return ansatz.request(random_controls(rng, ansatz, batch), shots=shots)


def test_one_executor_job_with_one_item_per_structure_and_the_token_as_a_tag(rng):
    ibm, service = provider()
    req = replace(data_request(rng), tags={TOKEN_TAG: "tok-13"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        job = ibm.submit(req)
    (sent,) = service.runs
    program = sent["inputs"]["quantum_program"]
    assert sent["program_id"] == "executor" and sent["dry_run"] is False
    assert program["shots"] == req.shots
    assert program["circuits"]["num_programs"] == len(req.structures())
    assert sent["options"]["job_tags"] == ["tok-13"] and job.job_id == "job-1"


def test_dry_run_reaches_the_service_as_a_dry_run(rng):
    ibm, service = provider()
    job = ibm._run(data_request(rng), (), dry_run=True)
    assert [r["dry_run"] for r in service.runs] == [True] and job.job_id == "job-1"


@pytest.mark.parametrize("mode,session_mode", [("batch", "batch"), ("session", "dedicated")])
def test_batch_and_session_modes_open_one_session_for_every_job(mode, session_mode, rng):
    ibm, service = provider(mode)
    ibm.submit(data_request(rng))
    ibm.submit(data_request(rng))
    assert service.sessions.created == [session_mode]
    assert [r["session_id"] for r in service.runs] == ["session-1", "session-1"]
    ibm.close()
    assert service.sessions.closed == ["session-1"]
