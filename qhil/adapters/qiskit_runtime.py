"""The `ibm` provider: Qiskit Runtime's client-side Sampler (`executor_sampler.Sampler`) on IBM
Quantum or, in local testing mode, on a fake backend.

One job per batch; one PUB (one Executor program item) per distinct circuit structure with a
(rows, parameters) value array; ISA transpilation once per structure
(`provider.transpile_cache.hit_rate`). `dry_run(request)` asks the cloud to validate a batch and
estimate its usage without running it (`qhil sample` and `qhil train` call it before spending).

Profile options:
    local_backend   fake backend class (e.g. "FakeTorino"): local testing mode; absent: the cloud
    restrict        local mode: simulate only the qubits the layout uses (default true)
    local_sampler   local mode: "aer" (default) runs a job's PUBs in one Aer SamplerV2 execution;
                    "executor" through the client-side Sampler's own local path, which runs one
                    Aer execution per PUB and re-serialises the noise model for each (slower on
                    batches of many structures: benchmarks/results/repro_ibm_local_executor.md)
    mode            "job" (default), "batch" or "session" (cloud)
    channel, instance  passed to QiskitRuntimeService (credentials: saved account or QISKIT_IBM_TOKEN)
    optimization_level  preset pass manager level (default 1)
    max_executions  circuits x shots one job may carry (default 10_000_000)
    poll_s          seconds between status polls (default 0.05 locally, 2 in the cloud)
    dry_run         cloud: `qhil sample` / `qhil train` first send the service a dry run of a
                    batch (validated, usage estimated, not run, not billed); default true
"""

from __future__ import annotations

import os
import time
from typing import Any

from qhil.adapters.options import IBMOptions, parse_options
from qhil.adapters.qiskit_backends import TranspileCache
from qhil.adapters.qiskit_circuits import translate
from qhil.adapters.qiskit_clients import CloudRuntimeClient, LocalRuntimeClient
from qhil.adapters.qiskit_errors import qiskit_error
from qhil.adapters.qiskit_jobs import ROWS_KEY, PubLayout, QiskitJob
from qhil.calibration import load_calibration
from qhil.config import ProviderProfile
from qhil.errors import QhilError, RequestValidationError
from qhil.execution.job import Job
from qhil.execution.provider import TOKEN_TAG, Availability, DryRun, Provider
from qhil.quantum.request import SamplingRequest

NO_CREDENTIALS = ("no IBM credentials: run QiskitRuntimeService.save_account(...) "
                  "or set QISKIT_IBM_TOKEN")


class IBMProvider(Provider):
    """Qiskit Runtime's client-side Sampler; `client` may be injected (tests script the runtime)."""

    kind = "ibm"
    native_batching = True

    def __init__(self, profile: ProviderProfile, client: Any = None):
        super().__init__(profile)
        self.options = opts = parse_options(IBMOptions, profile)
        self.local = bool(opts.local_backend)
        self.supports_seed = self.local
        self.supports_lookup = not self.local  # cloud jobs carry the Dispatcher's token as a job tag
        self.poll_s = opts.poll_s or (0.05 if self.local else 2.0)
        self._client = client
        self._cache: TranspileCache | None = None

    @classmethod
    def availability(cls, profile: ProviderProfile) -> Availability:
        if profile.options.get("local_backend"):
            return _local_availability(profile.options["local_backend"])
        if os.environ.get("QISKIT_IBM_TOKEN") or _saved_accounts(profile):
            return Availability(usable=True)
        return Availability(usable=False, reason=NO_CREDENTIALS)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    @property
    def transpile_cache(self) -> TranspileCache:
        if self._cache is None:
            level = self.options.optimization_level
            self._cache = TranspileCache(self.client.backend(), optimization_level=level)
        return self._cache

    def validate(self, request: SamplingRequest) -> None:
        super().validate(request)
        limit = self.options.max_executions
        if request.total_shots > limit:
            raise RequestValidationError(
                f"{request.batch_size} circuits x {request.shots} shots = {request.total_shots} "
                f"executions exceeds {self.name}'s {limit} per job; split the batch or use fewer shots")

    def _submit(self, request: SamplingRequest) -> Job:
        tags = (request.tags[TOKEN_TAG],) if TOKEN_TAG in request.tags else ()
        return self._run(request, tags, dry_run=False)

    def dry_run(self, request: SamplingRequest, timeout_s: float = 600.0) -> DryRun | None:
        """The service's dry run of a batch: validated and usage estimated, nothing run, nothing
        billed. None in local testing mode (free, and the SDK ignores dry runs there) or when the
        profile sets options.dry_run = false."""
        if self.local or not self.options.dry_run:
            return None
        self.validate(request)
        result = self._run(request, (), dry_run=True).result(timeout_s)
        return DryRun(job_id=result.job_id, usage=result.usage)

    def _run(self, request: SamplingRequest, tags: tuple[str, ...], dry_run: bool) -> QiskitJob:
        pubs, layout = self._pubs(request)
        submitted_at = time.time()
        try:
            vendor_job = self.client.run(pubs, request.shots, request.seed, tags, dry_run=dry_run)
        except QhilError:
            raise
        except Exception as exc:
            raise qiskit_error(exc) from exc
        return QiskitJob(vendor_job, layout, self.name, submitted_at, poll_s=self.poll_s)

    def _pubs(self, request: SamplingRequest) -> tuple[list[tuple], PubLayout]:
        pubs, rows = [], []
        for pub in translate(request):
            isa = self.transpile_cache.get(pub.key, pub.circuit).copy()
            isa.metadata = {**(isa.metadata or {}), ROWS_KEY: list(pub.rows)}
            pubs.append((isa, pub.values))
            rows.append(pub.rows)
        return pubs, PubLayout(rows=rows, n_qubits=request.n_qubits)

    def _attach(self, job_id: str) -> Job:
        return self._rewrap(lambda: self.client.job(job_id), job_id)

    def find_job(self, token: str) -> Job | None:
        """The job the Dispatcher sent with this token (an IBM job tag), re-attached; or None."""
        if self.local:
            return None
        return self._rewrap(lambda: self.client.find(token), None)

    def _rewrap(self, fetch: Any, job_id: str | None) -> Job | None:
        try:
            vendor_job = fetch()
        except QhilError:
            raise
        except Exception as exc:
            raise qiskit_error(exc, job_id) from exc
        if vendor_job is None:
            return None
        return QiskitJob(vendor_job, None, self.name, _created(vendor_job), poll_s=self.poll_s)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _make_client(self) -> Any:
        opts = self.options
        if self.local:
            return LocalRuntimeClient(opts.local_backend, opts.restrict, opts.local_sampler)
        from qiskit_ibm_runtime import QiskitRuntimeService

        kwargs = {k: getattr(opts, k) for k in ("channel", "instance") if getattr(opts, k)}
        if os.environ.get("QISKIT_IBM_TOKEN"):
            kwargs["token"] = os.environ["QISKIT_IBM_TOKEN"]
        try:
            service = QiskitRuntimeService(**kwargs)
        except Exception as exc:
            raise qiskit_error(exc) from exc
        return CloudRuntimeClient(service, self.profile.device, opts.mode)

    def _pricing_model(self) -> str:
        if self.local:
            return "free"
        if self.profile.calibration:
            return load_calibration(self.profile.calibration).pricing.model
        return "per-qpu-second"


def _created(vendor_job: Any) -> float:
    created = getattr(vendor_job, "creation_date", None)
    return created.timestamp() if hasattr(created, "timestamp") else time.time()


def _local_availability(backend_name: str) -> Availability:
    from qiskit_ibm_runtime import fake_provider

    if not hasattr(fake_provider, backend_name):
        return Availability(False, f"unknown fake backend '{backend_name}' in options.local_backend")
    try:
        import qiskit_aer  # noqa: F401  (local testing mode simulates through Aer)
    except ModuleNotFoundError:
        return Availability(False, "local testing mode needs qiskit-aer; install qhil[ibm]")
    return Availability(usable=True)


def _saved_accounts(profile: ProviderProfile) -> bool:
    from qiskit_ibm_runtime import QiskitRuntimeService

    try:
        return bool(QiskitRuntimeService.saved_accounts(channel=profile.options.get("channel")))
    except Exception:  # a missing or unreadable account file means: no saved account
        return False
