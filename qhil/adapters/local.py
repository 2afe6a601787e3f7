"""The `local` provider: the embedded batched simulator behind the Provider contract.

Profile options:
    device     "auto" (CUDA when present), "cpu" or "cuda"
    precision  "complex64" (default) or "complex128"
    noise      true to apply the calibration file's readout and depolarising noise
    counts     false to skip building per-circuit count dictionaries (faster)
"""

from __future__ import annotations

import itertools
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from qhil.calibration import load_calibration
from qhil.config import ProviderProfile
from qhil.errors import ConfigError
from qhil.execution.job import FutureJob, Job, JobTimings, SamplingResult
from qhil.execution.provider import Provider
from qhil.execution.request import SamplingRequest
from qhil.guards import check_simulator_memory
from qhil.quantum.bitstrings import counts_from_indices
from qhil.quantum.noise import NoiseModel
from qhil.quantum.simulator import BatchedSimulator


class LocalProvider(Provider):
    """Runs batches on the embedded simulator in a worker thread; `submit` returns at once."""

    kind = "local"
    native_batching = True
    supports_seed = True

    def __init__(self, profile: ProviderProfile):
        super().__init__(profile)
        opts = profile.options
        _check_options(profile)
        self.device = _pick_device(opts.get("device", "auto"))
        self.precision = opts.get("precision", "complex64")
        self.want_counts = bool(opts.get("counts", True))
        self._noise_spec = self._load_noise() if opts.get("noise", False) else None
        self._simulators: dict[int, BatchedSimulator] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qhil-local")
        self._jobs: dict[str, FutureJob] = {}
        self._entropy = itertools.count(int(np.random.SeedSequence().entropy % 2**31))

    def validate(self, request: SamplingRequest) -> None:
        """The device's limits, then this machine's memory for the batch's state vectors."""
        super().validate(request)
        what = f"simulating {request.batch_size} circuits on {self.name}"
        if str(self.device).startswith("cuda"):
            free, _ = torch.cuda.mem_get_info(torch.device(self.device))
            check_simulator_memory(request.n_qubits, request.batch_size, self.precision, what,
                                   have_bytes=free, where=f"the GPU ({self.device})")
        else:
            check_simulator_memory(request.n_qubits, request.batch_size, self.precision, what)

    def _submit(self, request: SamplingRequest) -> Job:
        job_id = f"local-{uuid.uuid4().hex[:12]}"
        submitted_at = time.time()
        seed = request.seed if request.seed is not None else next(self._entropy)
        job = FutureJob(job_id, submitted_at)
        self._jobs[job_id] = job.run_in(self._executor, self._run, job, request, seed)
        return job

    def _attach(self, job_id: str) -> Job:
        if job_id in self._jobs:
            return self._jobs[job_id]
        return super()._attach(job_id)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def simulator(self, n_qubits: int) -> BatchedSimulator:
        """The (cached) simulator for a register width, with this profile's noise."""
        if n_qubits not in self._simulators:
            noise = self._noise_spec(n_qubits) if self._noise_spec else None
            self._simulators[n_qubits] = BatchedSimulator(
                n_qubits, device=self.device, precision=self.precision, noise=noise)
        return self._simulators[n_qubits]

    def _run(self, job: FutureJob, request: SamplingRequest, seed: int) -> SamplingResult:
        sim = self.simulator(request.n_qubits)
        angles = torch.from_numpy(request.angles).to(self.device)
        cz = torch.from_numpy(request.cz).to(self.device)
        with torch.inference_mode():
            marginals, counts = self._measure(sim, angles, cz, request.shots, seed,
                                              self.want_counts and request.counts)
        timings = JobTimings(submitted_at=job.submitted_at, accepted_at=job.submitted_at,
                             running_at=job.running_at, finished_at=time.time())
        return SamplingResult(marginals=marginals, shots=request.shots, counts=counts,
                              job_id=job.job_id, provider=self.name, timings=timings)

    def _measure(self, sim: BatchedSimulator, angles: torch.Tensor, cz: torch.Tensor,
                 shots: int | None, seed: int,
                 want_counts: bool = True) -> tuple[np.ndarray, list[dict[str, int]] | None]:
        if shots is None:
            return sim.marginals(angles, cz).double().cpu().numpy(), None
        generator = torch.Generator(device=self.device).manual_seed(seed)
        if not want_counts:  # marginals only: the simulator may skip the per-shot outcomes
            return sim.sample_marginals(angles, cz, shots, generator).double().cpu().numpy(), None
        batch = sim.sample(angles, cz, shots, generator)
        indices = batch.indices.cpu().numpy()
        counts = counts_from_indices(indices, sim.n_qubits) if want_counts else None
        return batch.marginals.double().cpu().numpy(), counts

    def _load_noise(self):
        if not self.profile.calibration:
            return None
        errors = load_calibration(self.profile.calibration).errors
        return lambda n: NoiseModel.from_error_rates(
            n, gate_1q_error=errors.gate_1q, gate_2q_error=errors.gate_2q,
            readout_p01=errors.readout_p01, readout_p10=errors.readout_p10)


PRECISIONS = ("complex64", "complex128")
DEVICES = ("auto", "cpu", "cuda")


def _check_options(profile: ProviderProfile) -> None:
    """A misspelt device or precision is a profile error before any job runs."""
    opts, where = profile.options, profile.source_path or profile.name
    device = str(opts.get("device", "auto"))
    if opts.get("precision", "complex64") not in PRECISIONS:
        raise ConfigError(f"{where}: field 'options.precision': must be one of "
                          f"{', '.join(PRECISIONS)}, got {opts['precision']!r}")
    if device.split(":")[0] not in DEVICES:
        raise ConfigError(f"{where}: field 'options.device': must be one of "
                          f"{', '.join(DEVICES)}, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"{where}: field 'options.device': {device!r} but CUDA is not "
                          f"available here; use \"auto\" or \"cpu\"")


def _pick_device(choice: str) -> str:
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice
