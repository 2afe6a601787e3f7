"""A scripted IBM Quantum runtime: the cloud boundary the IBM adapter talks to, without network.

`ScriptedRuntime` answers the runtime client's calls (backend, run, job) the way the service does:
jobs walk a scripted list of states (QUEUED -> RUNNING -> DONE), report ISO timestamps and QPU
usage in `metrics()`, keep their inputs for re-attachment, and raise the SDK's own exceptions
(RequestsApiError 429 / 1202, RuntimeJobFailureError, IBMNotAuthorizedError ...) where scripted.
Result data are what the client-side Sampler returns, computed by the SDK's own
`executor_sampler.Sampler` in local mode on Aer from the submitted PUBs (circuit metadata included,
as the cloud's post-processing hands it back). Dry runs are recorded in `dry_runs`.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.executor_sampler import Sampler

from qhil.adapters.qiskit_backends import fake_backend


class ScriptedJob:
    """A RuntimeJobV2 look-alike whose status() walks `states`, the last one repeating."""

    def __init__(self, job_id: str, pubs: list[tuple], shots: int, states: list[str],
                 failure: Exception | None = None, usage_s: float = 1.25):
        self._id, self.inputs = job_id, {"pubs": pubs, "shots": shots}
        self._states = deque(states)
        self._failure, self._usage_s = failure, usage_s
        self._result = None if failure else _simulate(pubs, shots)
        self.status_calls = 0

    def job_id(self) -> str:
        return self._id

    def status(self) -> str:
        self.status_calls += 1
        return self._states.popleft() if len(self._states) > 1 else self._states[0]

    def result(self) -> Any:
        if self._failure is not None:
            raise self._failure
        return self._result

    def metrics(self) -> dict:
        stamps = {"created": "2026-11-22T04:00:00Z", "running": "2026-11-22T04:00:30Z",
                  "finished": "2026-11-22T04:00:32Z"}
        return {"timestamps": stamps, "usage": {"quantum_seconds": self._usage_s,
                                                "seconds": self._usage_s}}

    def cancel(self) -> None:
        self._states = deque(["CANCELLED"])


def _simulate(pubs: list[tuple], shots: int) -> Any:
    options = {"simulator": {"seed_simulator": 7}}
    return Sampler(mode=AerSimulator(), options=options).run(pubs, shots=shots).result()


class ScriptedRuntime:
    """The runtime client seam, scripted. `submit_errors` are raised by successive run() calls;
    `job_script` gives each new job its states and failure."""

    local = False

    def __init__(self, states: list[str] | None = None, submit_errors: list[Exception] = (),
                 failure: Exception | None = None):
        self.states = states or ["QUEUED", "RUNNING", "DONE"]
        self.submit_errors = deque(submit_errors)
        self.failure = failure
        self.jobs: dict[str, ScriptedJob] = {}
        self.runs = 0
        self.dry_runs: list[ScriptedJob] = []
        self._ids = itertools.count(1)
        self._backend = fake_backend("FakeTorino")

    def backend(self) -> Any:
        return self._backend

    def run(self, pubs: list[tuple], shots: int, seed: int | None,
            tags: tuple[str, ...] = (), dry_run: bool = False) -> ScriptedJob:
        if self.submit_errors:
            self.runs += 1
            raise self.submit_errors.popleft()
        job = ScriptedJob(f"d{next(self._ids):019d}", pubs, shots, list(self.states), self.failure)
        job.tags = list(tags)
        if dry_run:
            self.dry_runs.append(job)
            return job
        self.runs += 1
        self.jobs[job.job_id()] = job
        return job

    def find(self, tag: str) -> ScriptedJob | None:
        """service.jobs(job_tags=[tag], limit=1): the newest job carrying the tag."""
        tagged = [job for job in self.jobs.values() if tag in getattr(job, "tags", [])]
        return tagged[-1] if tagged else None

    def job(self, job_id: str) -> ScriptedJob:
        if job_id not in self.jobs:
            from qiskit_ibm_runtime.exceptions import RuntimeJobNotFound

            raise RuntimeJobNotFound(f"Job not found: {job_id}")
        return self.jobs[job_id]

    def close(self) -> None:
        pass
