"""The `local` provider: the embedded batched simulator behind the Provider contract.

Profile options: see `qhil.adapters.options.LocalOptions` (device, precision, noise, counts).
"""

from __future__ import annotations

import itertools
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from qhil.adapters.local_templates import generic_groups, hdqnn_batches
from qhil.adapters.options import LocalOptions, parse_options
from qhil.calibration import load_calibration
from qhil.config import ProviderProfile
from qhil.errors import ConfigError
from qhil.execution.job import FutureJob, Job, JobTimings, SamplingResult
from qhil.execution.provider import Provider
from qhil.guards import check_simulator_memory
from qhil.quantum.bitstrings import counts_from_indices, probability_marginals
from qhil.quantum.noise import NoiseModel
from qhil.quantum.request import SamplingRequest, template_rows
from qhil.quantum.simulator import Simulator
from qhil.threads import use_threads


class LocalProvider(Provider):
    """Runs batches on the embedded simulator in a worker thread; `submit` returns at once."""

    kind = "local"
    native_batching = True
    supports_seed = True

    def __init__(self, profile: ProviderProfile):
        super().__init__(profile)
        opts = parse_options(LocalOptions, profile)  # unknown or mistyped options
        _check_cuda(opts, profile)
        self.device = _pick_device(opts.device)
        self.precision = opts.precision
        self.want_counts = opts.counts
        self._noise_spec = self._load_noise() if opts.noise else None
        self.exact_probabilities = self._noise_spec is None  # noise reads out into marginals only
        self._simulators: dict[int, Simulator] = {}
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
        threads = torch.get_num_threads()  # the caller's: a job runs as if the caller ran it
        self._jobs[job_id] = job.run_in(self._executor, self._run, job, request, seed, threads)
        return job

    def _attach(self, job_id: str) -> Job:
        if job_id in self._jobs:
            return self._jobs[job_id]
        return super()._attach(job_id)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def simulator(self, n_qubits: int) -> Simulator:
        """The (cached) simulator for a register width, with this profile's noise."""
        if n_qubits not in self._simulators:
            noise = self._noise_spec(n_qubits) if self._noise_spec else None
            self._simulators[n_qubits] = Simulator(
                n_qubits, device=self.device, precision=self.precision, noise=noise)
        return self._simulators[n_qubits]

    def _run(self, job: FutureJob, request: SamplingRequest, seed: int,
             threads: int | None = None) -> SamplingResult:
        if threads:
            use_threads(threads)  # this worker thread's own setting (OpenMP, MKL local)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        want_counts = self.want_counts and request.counts
        probabilities = self._probabilities(request)
        if probabilities is not None:  # exact: the marginals follow from them, no second run
            marginals, counts = probability_marginals(probabilities), None
        else:
            with torch.inference_mode():
                marginals, counts = self._measure_templates(request, generator, want_counts)
        timings = JobTimings(submitted_at=job.submitted_at, accepted_at=job.submitted_at,
                             running_at=job.running_at, finished_at=time.time())
        return SamplingResult(marginals=marginals, shots=request.shots, counts=counts,
                              job_id=job.job_id, provider=self.name, timings=timings,
                              probabilities=probabilities)

    def _probabilities(self, request: SamplingRequest) -> np.ndarray | None:
        """(B, 2**n) exact basis-state probabilities of a shots=None request that asks for counts
        (their exact counterpart), every template through the embedded simulator; not for
        requests of hDQNN templates only (training's exact marginals need no joint table)."""
        generic = any(t.hdqnn_layout is None for t in request.templates)  # not hDQNN-only
        if not (self.exact_probabilities and generic and request.shots is None
                and request.counts):
            return None
        sim = self.simulator(request.n_qubits)
        out = np.zeros((request.batch_size, 2 ** request.n_qubits))
        with torch.inference_mode():
            for template, rows in template_rows(request):
                params = torch.from_numpy(request.params[rows]).to(self.device)
                out[rows] = sim.probabilities(template, params).double().cpu().numpy()
        return out

    def _measure_hdqnn(self, angles: np.ndarray, cz: np.ndarray, shots: int | None,
                       generator: torch.Generator, want_counts: bool = True
                       ) -> tuple[np.ndarray, list[dict[str, int]] | None]:
        sim = self.simulator(angles.shape[2])
        return self._measure(sim, torch.from_numpy(angles).to(self.device),
                             torch.from_numpy(cz).to(self.device), shots, generator, want_counts)

    def _measure_templates(self, request: SamplingRequest, generator: torch.Generator,
                           want_counts: bool) -> tuple[np.ndarray, list[dict[str, int]] | None]:
        """Rows of hDQNN templates in one structured batch, the others per template."""
        marginals = np.zeros((request.batch_size, request.n_qubits))
        counts: list[dict[str, int]] = [{} for _ in range(request.batch_size)]
        sim = self.simulator(request.n_qubits)
        for batch in hdqnn_batches(request):
            marg, part = self._measure_hdqnn(batch.angles, batch.cz, request.shots, generator,
                                             want_counts)
            self._scatter(marginals, counts, batch.rows, marg, part)
        for template, rows in generic_groups(request):
            params = torch.from_numpy(request.params[rows]).to(self.device)
            marg, part = self._measure(sim, template, params, request.shots, generator,
                                       want_counts)
            self._scatter(marginals, counts, rows, marg, part)
        return marginals, counts if want_counts and request.shots is not None else None

    @staticmethod
    def _measure(sim: Simulator, circuit, values, shots: int | None, generator: torch.Generator,
                 want_counts: bool) -> tuple[np.ndarray, list[dict[str, int]] | None]:
        """Exact marginals (shots None), S-shot marginals alone (the chained-binomial sampler
        where it applies), or marginals and per-row counts."""
        if shots is None:
            return sim.marginals(circuit, values).double().cpu().numpy(), None
        if not want_counts:  # marginals only: the simulator may skip the per-shot outcomes
            marg = sim.sample_marginals(circuit, values, shots, generator)
            return marg.double().cpu().numpy(), None
        batch = sim.sample(circuit, values, shots, generator)
        counts = counts_from_indices(batch.indices.cpu().numpy(), sim.n_qubits)
        return batch.marginals.double().cpu().numpy(), counts

    @staticmethod
    def _scatter(marginals: np.ndarray, counts: list, rows, marg: np.ndarray, part) -> None:
        marginals[rows] = marg
        for row, table in zip(rows, part or [], strict=False):
            counts[row] = table

    def _load_noise(self):
        if not self.profile.calibration:
            return None
        errors = load_calibration(self.profile.calibration).errors
        return lambda n: NoiseModel.from_error_rates(
            n, gate_1q_error=errors.gate_1q, gate_2q_error=errors.gate_2q,
            readout_p01=errors.readout_p01, readout_p10=errors.readout_p10)


def _check_cuda(opts: LocalOptions, profile: ProviderProfile) -> None:
    """A CUDA device where torch has no CUDA is a profile error before any job runs (the
    option's spelling and type are LocalOptions')."""
    if opts.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"{profile.source_path or profile.name}: field 'options.device': "
                          f"{opts.device!r} but CUDA is not available here; use "
                          '"auto" or "cpu"')


def _pick_device(choice: str) -> str:
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice
