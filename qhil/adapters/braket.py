"""The `braket` provider: Amazon Braket's LocalSimulator and AwsDevice behind the Provider contract.

    device = "default" | "braket_sv" | "braket_dm"   LocalSimulator, run in a worker thread
    device = "arn:aws:braket:..."                     AwsDevice (QPUs and managed simulators)

On AwsDevice a batch goes out as ProgramSet tasks (one CircuitBinding per run of rows sharing a
circuit structure), chunked by the device's `maximumExecutables` / `maximumTotalShots` from the
`braket.ir.openqasm.program_set` action; devices without that action get one task per circuit
(device.run, not run_batch: run_batch blocks, re-bills its own retries and returns None for
failures). Retries are not done here: one policy wraps every provider (qhil.execution).

On LocalSimulator there is no per-task fee, and running the bound circuits one by one measured
faster than one ProgramSet (benchmarks/bench_braket_batching.py), so `local_mode = "circuits"`
is the default; `local_mode = "program_set"` runs the cloud path's ProgramSet code locally.
Profile options: see `BraketOptions`.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np
from braket.aws import AwsDevice, AwsQuantumTask, AwsSession
from braket.devices import LocalSimulator
from pydantic import Field, ValidationError

from qhil.adapters.braket_circuits import (
    Binding,
    GateNoise,
    bindings,
    chunk_bindings,
    marginals_and_counts,
    program_set,
)
from qhil.adapters.braket_credentials import aws_availability
from qhil.adapters.braket_jobs import BraketTaskJob, braket_error, counts_of
from qhil.calibration import load_calibration
from qhil.config import ProviderProfile, StrictModel, validation_message
from qhil.errors import (
    ConfigError,
    PermanentProviderError,
    RequestValidationError,
    TransientProviderError,
)
from qhil.execution.job import FutureJob, Job, JobTimings, SamplingResult
from qhil.execution.provider import TOKEN_TAG, Availability, Provider
from qhil.quantum.bitstrings import probability_marginals
from qhil.quantum.request import SamplingRequest

LOCAL_DEVICES = ("default", "braket_sv", "braket_dm")
PROGRAM_SET_ACTION = "braket.ir.openqasm.program_set"
TAG_REQUEST, TAG_CHUNK = "qhil-request", "qhil-chunk"
LIVE_STATES = ("CREATED", "QUEUED", "RUNNING", "COMPLETED")
LOOKUP_WINDOW_S = 7 * 24 * 3600.0  # how far back a token lookup searches the service


class BraketOptions(StrictModel):
    """The `[options]` table of a braket profile."""

    local_mode: Literal["circuits", "program_set"] = Field(
        "circuits", description="LocalSimulator only: run bound circuits one by one, or ProgramSets.")
    noise: bool = Field(False, description="braket_dm only: add depolarising and readout noise.")
    depolarizing_1q: float | None = Field(
        None, description="Depolarising probability after RX/RY; default: calibration gate_1q.", ge=0, le=0.75)
    depolarizing_2q: float | None = Field(
        None, description="Two-qubit depolarising after CZ; default: calibration gate_2q.", ge=0, le=0.9375)
    readout_flip: float | None = Field(
        None, description="Bit flip before readout; default: mean of calibration p01, p10.", ge=0, le=0.5)
    s3_bucket: str | None = Field(None, description="AWS only: results bucket; default: the SDK's.")
    s3_prefix: str = Field("qhil", description="AWS only: key prefix of task results.")
    region: str | None = Field(None, description="AWS only: region; default: the ARN's or AWS_REGION.")
    poll_interval_s: float = Field(1.0, description="AWS only: seconds between status polls.", ge=0)
    retired: str | None = Field(
        None, description="Set when the vendor retired the device: when, why and what to use "
        "instead. The profile then refuses to run; `qhil providers` shows the reason.")


@dataclass(frozen=True)
class DeviceLimits:
    """What one task on the device may carry."""

    program_sets: bool
    max_executables: int
    max_total_shots: int
    qubits: int | None

    def executables_per_task(self, shots: int) -> int:
        if shots > self.max_total_shots:
            raise RequestValidationError(
                f"shots={shots} exceeds the device's {self.max_total_shots} total shots per task")
        return max(1, min(self.max_executables, self.max_total_shots // shots))


def device_limits(properties: Any) -> DeviceLimits:
    """Program-set limits and qubit count from a device's properties (Braket schema objects)."""
    actions = {str(getattr(k, "value", k)): v for k, v in properties.action.items()}
    paradigm = getattr(properties, "paradigm", None)
    qubits = getattr(paradigm, "qubitCount", None)
    pset = actions.get(PROGRAM_SET_ACTION)
    if pset is None:
        return DeviceLimits(False, 1, 10**9, qubits)
    return DeviceLimits(True, pset.maximumExecutables, pset.maximumTotalShots, qubits)


class BraketProvider(Provider):
    """Amazon Braket devices: LocalSimulator ("default", "braket_dm") or AwsDevice by ARN."""

    kind = "braket"
    native_batching = True
    supports_seed = False

    def __init__(self, profile: ProviderProfile, aws_session: AwsSession | None = None,
                 sleep=time.sleep):
        super().__init__(profile)
        self.options = _options(profile)
        self.is_local = profile.device in LOCAL_DEVICES
        self.supports_lookup = not self.is_local  # AWS tasks are searchable by their tags
        self.noise = self._noise()
        self._aws_session = aws_session
        self._sleep = sleep
        self._device: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qhil-braket")
        self._jobs: dict[str, Job] = {}

    @classmethod
    def availability(cls, profile: ProviderProfile) -> Availability:
        retired = _options(profile).retired
        if retired:
            return Availability(False, f"retired: {retired}")
        if profile.device in LOCAL_DEVICES:
            return Availability(usable=True)
        if not profile.device.startswith("arn:aws:braket:"):
            return Availability(False, f"{profile.source_path}: field 'device': expected "
                                       f"{', '.join(LOCAL_DEVICES)} or a Braket device ARN")
        return aws_availability()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _pricing_model(self) -> str:
        if not self.profile.calibration:
            return "free"
        return load_calibration(self.profile.calibration).pricing.model

    def _submit(self, request: SamplingRequest) -> Job:
        job = self._submit_local(request) if self.is_local else self._submit_aws(request)
        self._jobs[job.job_id] = job
        return job

    def _attach(self, job_id: str) -> Job:
        if job_id in self._jobs:
            return self._jobs[job_id]
        if self.is_local:
            return super()._attach(job_id)
        session = self._session()
        tasks = [AwsQuantumTask(arn, aws_session=session, quiet=True) for arn in job_id.split(",")]
        return self._job(tasks, n_qubits=None, submitted_at=time.time())

    # --- LocalSimulator ---------------------------------------------------------------------

    def _submit_local(self, request: SamplingRequest) -> Job:
        job = FutureJob(f"braket-local-{uuid.uuid4().hex[:12]}", time.time())
        return job.run_in(self._executor, self._run_local, job, request)

    def _run_local(self, job: FutureJob, request: SamplingRequest) -> SamplingResult:
        device = self._local_device()
        parts = bindings(request, self.noise)
        counts = None
        if request.shots is None:
            marginals = _exact_marginals(device, parts, request.n_qubits)
        elif self.options.local_mode == "program_set":
            limits = device_limits(device.properties)
            marginals, counts = _program_set_counts(device, parts, request, limits)
        else:
            marginals, counts = _circuit_counts(device, parts, request)
        timings = JobTimings(submitted_at=job.submitted_at, accepted_at=job.submitted_at,
                             running_at=job.running_at, finished_at=time.time())
        return SamplingResult(marginals=marginals, shots=request.shots, counts=counts,
                              job_id=job.job_id, provider=self.name, timings=timings)

    def _local_device(self) -> LocalSimulator:
        if self._device is None:
            self._device = LocalSimulator(self.profile.device)
        return self._device

    # --- AwsDevice --------------------------------------------------------------------------

    def _submit_aws(self, request: SamplingRequest) -> Job:
        device = self.aws_device()
        limits = device_limits(device.properties)
        self._check_device(device, limits, request)
        parts = bindings(request)
        submitted_at = time.time()
        tasks: list[Any] = []
        specs = list(_task_specs(parts, request.shots, limits))
        try:
            for index, (spec, shots) in enumerate(specs):
                tasks.append(device.run(spec, shots=shots, quiet=True, tags=_tags(request, index, len(specs)),
                                        s3_destination_folder=self._s3_folder()))
        except Exception as exc:
            raise self._partial_failure(exc, tasks) from exc
        return self._job(tasks, n_qubits=request.n_qubits, submitted_at=submitted_at)

    def find_submitted(self, request: SamplingRequest, created_after: float) -> Job | None:
        """This request's tasks already on the service (by their qhil tags), re-attached; or None.

        CreateQuantumTask has no idempotency token, so after an ambiguous failure (a timeout, a
        lost connection) ask here before submitting again, to never pay for a batch twice.
        """
        return self._find_tagged(TAG_REQUEST, request.digest(), created_after, request.n_qubits)

    def find_job(self, token: str) -> Job | None:
        """The batch the Dispatcher sent with this token (tag qhil_token), re-attached; or None."""
        if self.is_local:
            return None
        return self._find_tagged(TOKEN_TAG, token, time.time() - LOOKUP_WINDOW_S, None)

    def _find_tagged(self, key: str, value: str, created_after: float,
                     n_qubits: int | None) -> Job | None:
        found = self._tagged_tasks(key, value, created_after)
        if not found or len(found) != next(iter(found.values()))[1]:
            return None
        session = self._session()
        tasks = [AwsQuantumTask(found[k][0], aws_session=session, quiet=True) for k in sorted(found)]
        return self._job(tasks, n_qubits=n_qubits, submitted_at=created_after)

    def _tagged_tasks(self, key: str, value: str,
                      created_after: float) -> dict[int, tuple[str, int]]:
        created = datetime.fromtimestamp(created_after, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        filters = [{"name": "deviceArn", "operator": "EQUAL", "values": [self.profile.device]},
                   {"name": "createdAt", "operator": "GTE", "values": [created]}]
        found: dict[int, tuple[str, int]] = {}
        try:
            pages = self._session().braket_client.get_paginator("search_quantum_tasks")
            for page in pages.paginate(filters=filters):
                for task in page["quantumTasks"]:
                    tags = task.get("tags") or {}
                    if tags.get(key) == value and task["status"] in LIVE_STATES:
                        index, total = (int(x) for x in tags[TAG_CHUNK].split("/"))
                        found[index] = (task["quantumTaskArn"], total)
        except Exception as exc:
            raise braket_error(exc, f"search tasks on {self.profile.device}") from exc
        return found

    def aws_device(self) -> AwsDevice:
        """The AwsDevice of the profile's ARN (GetDevice on first use; cached)."""
        if self._device is None:
            try:
                self._device = AwsDevice(self.profile.device, aws_session=self._session())
            except Exception as exc:
                raise braket_error(exc, f"get device {self.profile.device}") from exc
        return self._device

    def _session(self) -> AwsSession:
        if self._aws_session is None:
            import boto3

            region = self.options.region or _arn_region(self.profile.device) or None
            self._aws_session = AwsSession(boto3.Session(region_name=region))
        return self._aws_session

    def _s3_folder(self) -> tuple[str, str] | None:
        bucket = self.options.s3_bucket
        return None if bucket is None else (bucket, self.options.s3_prefix)

    def _check_device(self, device: AwsDevice, limits: DeviceLimits, request: SamplingRequest) -> None:
        status = str(device.status or "").upper()
        if status == "RETIRED":
            raise PermanentProviderError(f"device {self.profile.device} is retired; pick another")
        if status and status != "ONLINE":
            raise TransientProviderError(f"device {self.profile.device} is {status}; try later")
        if request.shots is None:
            raise RequestValidationError(f"{self.name} cannot return exact marginals; pass a shot count")
        if limits.qubits is not None and request.n_qubits > limits.qubits:
            raise RequestValidationError(
                f"{request.n_qubits} qubits requested but {self.profile.device} has {limits.qubits}")
        limits.executables_per_task(request.shots)

    def _partial_failure(self, exc: Exception, tasks: list[Any]):
        created = ",".join(t.id for t in tasks) or None
        error = braket_error(exc, f"create task on {self.profile.device}", created)
        stuck = [task.id for task in tasks if not _cancelled(task)]
        if stuck:  # the user must know these may still run and bill
            error.args = (f"{error}; could not cancel {', '.join(stuck)}: cancel them in the "
                          f"Braket console",)
        error.billed = bool(tasks)
        return error

    def _job(self, tasks: list[Any], n_qubits: int | None, submitted_at: float) -> BraketTaskJob:
        return BraketTaskJob(tasks, n_qubits=n_qubits, provider=self.name, submitted_at=submitted_at,
                             poll_interval_s=self.options.poll_interval_s, sleep=self._sleep)

    def _noise(self) -> GateNoise | None:
        opts = self.options
        if not opts.noise:
            return None
        if self.profile.device != "braket_dm":
            raise ConfigError(f"{self.profile.source_path}: field 'options.noise': noise needs "
                              f"device = \"braket_dm\", not {self.profile.device!r}")
        errors = load_calibration(self.profile.calibration).errors if self.profile.calibration else None
        pick = lambda value, fallback: value if value is not None else (fallback if errors else 0.0)  # noqa: E731
        return GateNoise(
            gate_1q=pick(opts.depolarizing_1q, errors and errors.gate_1q),
            gate_2q=pick(opts.depolarizing_2q, errors and errors.gate_2q),
            readout=pick(opts.readout_flip, errors and (errors.readout_p01 + errors.readout_p10) / 2))


def _options(profile: ProviderProfile) -> BraketOptions:
    try:
        return BraketOptions(**profile.options)
    except ValidationError as exc:
        message = validation_message(profile.source_path, exc).replace("field '", "field 'options.")
        raise ConfigError(message) from None


def _cancelled(task: Any) -> bool:
    """Cancel a task already created for a batch that failed half-way; False if that failed."""
    try:
        task.cancel()
    except Exception:  # noqa: BLE001 - any failure means: not cancelled, tell the user
        return False
    return True


def _tags(request: SamplingRequest, index: int, total: int) -> dict[str, str]:
    """Task tags that let `find_submitted` recognise a batch's tasks on the service."""
    tags = {TAG_REQUEST: request.digest(), TAG_CHUNK: f"{index}/{total}"}
    if TOKEN_TAG in request.tags:
        tags[TOKEN_TAG] = request.tags[TOKEN_TAG]
    return tags


def _arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _task_specs(parts: list[Binding], shots: int, limits: DeviceLimits):
    """(task specification, total shots) per task: program sets, or single bound circuits."""
    if limits.program_sets:
        for chunk in chunk_bindings(parts, limits.executables_per_task(shots)):
            spec = program_set(chunk, shots)
            yield spec, spec.total_shots
        return
    for part in parts:
        for index in range(len(part.rows)):
            yield part.program(index), shots


def _exact_marginals(device: LocalSimulator, parts: list[Binding], n_qubits: int) -> np.ndarray:
    rows = sum(len(p.rows) for p in parts)
    probabilities = np.zeros((rows, 2 ** n_qubits))
    for part in parts:
        for index, row in enumerate(part.rows):
            circuit = part.bound(index)
            circuit.probability()
            probabilities[row] = device.run(circuit, shots=0).result().values[0]
    return probability_marginals(probabilities)


def _circuit_counts(device: LocalSimulator, parts: list[Binding], request: SamplingRequest):
    counts: list[dict[str, int]] = [{} for _ in range(request.batch_size)]
    for part in parts:
        for index, row in enumerate(part.rows):
            result = device.run(part.program(index), shots=request.shots).result()
            counts[row] = dict(result.measurement_counts)
    return marginals_and_counts(counts, request.n_qubits)


def _program_set_counts(device: LocalSimulator, parts: list[Binding], request: SamplingRequest,
                        limits: DeviceLimits):
    counts: list[dict[str, int]] = []
    for spec, shots in _task_specs(parts, request.shots, limits):
        counts.extend(counts_of(device.run(spec, shots=shots).result()))
    return marginals_and_counts(counts, request.n_qubits)
