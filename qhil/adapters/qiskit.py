"""Qiskit adapters: `aer` (AerSimulator, optionally with a fake backend's noise) and `ibm`
(Qiskit Runtime, see qiskit_runtime.py).

Aer profile options:
    noise_backend  fake backend class (e.g. "FakeTorino") whose noise model to apply; circuits are
                   then transpiled for that backend and simulated on the qubits their layout uses
    optimization_level  preset pass manager level for noisy runs (default 1)
Exact marginals (shots=None) come from Aer's saved probabilities, noiseless profiles only.
"""

from __future__ import annotations

import itertools
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from qiskit.primitives import BackendSamplerV2
from qiskit_aer import AerSimulator

from qhil.adapters.options import AerOptions, parse_options
from qhil.adapters.qiskit_backends import (
    ReducedDevice,
    TranspileCache,
    active_qubits,
    compact_circuit,
    fake_backend,
)
from qhil.adapters.qiskit_circuits import probabilities_qubit0_first, translate
from qhil.adapters.qiskit_errors import qiskit_error
from qhil.adapters.qiskit_jobs import PubLayout, QiskitJob
from qhil.adapters.qiskit_runtime import IBMProvider
from qhil.config import ProviderProfile
from qhil.errors import PermanentProviderError
from qhil.execution.job import FutureJob, Job, JobTimings, SamplingResult
from qhil.execution.provider import Provider
from qhil.quantum.request import SamplingRequest

__all__ = ["AerProvider", "IBMProvider"]


class AerProvider(Provider):
    """AerSimulator behind the Provider contract; one Aer run per batch."""

    kind = "aer"
    native_batching = True
    supports_seed = True

    def __init__(self, profile: ProviderProfile):
        super().__init__(profile)
        opts = parse_options(AerOptions, profile)
        noise = opts.noise_backend
        self.backend = fake_backend(noise) if noise else None
        level = opts.optimization_level
        self.transpile_cache = TranspileCache(self.backend, level) if self.backend else None
        self._reduced = ReducedDevice(self.backend) if self.backend else None
        self._ideal = AerSimulator()
        self._exact_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qhil-aer")
        self._jobs: dict[str, Job] = {}
        self._entropy = itertools.count(int(np.random.SeedSequence().entropy % 2**31))

    def _submit(self, request: SamplingRequest) -> Job:
        submitted_at = time.time()
        if request.shots is None:
            job: Job = self._submit_exact(request, submitted_at)
        else:
            pubs, layout, simulator = self._pubs(request)
            seed = request.seed if request.seed is not None else next(self._entropy)
            sampler = BackendSamplerV2(backend=simulator, options={"seed_simulator": seed})
            try:
                vendor_job = sampler.run(pubs, shots=request.shots)
            except Exception as exc:
                raise qiskit_error(exc) from exc
            job = QiskitJob(vendor_job, layout, self.name, submitted_at)
        self._jobs[job.job_id] = job
        return job

    def _pubs(self, request: SamplingRequest) -> tuple[list[tuple], PubLayout, AerSimulator]:
        structures = translate(request)
        layout = PubLayout(rows=[p.rows for p in structures], n_qubits=request.n_qubits)
        if self.transpile_cache is None:
            return [(p.circuit, p.values) for p in structures], layout, self._ideal
        isa = [self.transpile_cache.get(p.key, p.circuit) for p in structures]
        active = active_qubits(isa)
        pubs = [(compact_circuit(c, active), p.values) for c, p in zip(isa, structures, strict=True)]
        return pubs, layout, self._reduced.simulator(active)

    def _submit_exact(self, request: SamplingRequest, submitted_at: float) -> FutureJob:
        job = FutureJob(f"aer-{uuid.uuid4().hex[:12]}", submitted_at)
        return job.run_in(self._exact_executor, self._exact, job, request)

    def _exact(self, job: FutureJob, request: SamplingRequest) -> SamplingResult:
        marginals = np.zeros((request.batch_size, request.n_qubits))
        for pub in translate(request, measure=False):
            marginals[pub.rows] = aer_exact_marginals(self._ideal, pub.circuit, pub.values,
                                                  bind_here=True)
        timings = JobTimings(submitted_at=job.submitted_at, accepted_at=job.submitted_at,
                             running_at=job.running_at, finished_at=time.time())
        return SamplingResult(marginals=marginals, shots=None, counts=None, job_id=job.job_id,
                              provider=self.name, timings=timings)

    def _attach(self, job_id: str) -> Job:
        if job_id not in self._jobs:
            raise PermanentProviderError(f"{self.name} has no job {job_id}; Aer jobs do not "
                                         f"survive a restart", job_id=job_id)
        return self._jobs[job_id]

    def close(self) -> None:
        self._exact_executor.shutdown(wait=True, cancel_futures=True)


def aer_exact_marginals(simulator: AerSimulator, circuit: Any, values: np.ndarray,
                    bind_here: bool = False) -> np.ndarray:
    """(rows, n) exact P(qubit j reads 1) from Aer's saved probabilities, one row per value row.

    `bind_here` binds each row in Qiskit and runs the bound circuits: Aer 0.18's own
    `parameter_binds` gave wrong probabilities for some template circuits (affine angles in
    U3 / CU3 gates) that its sampler and Qiskit's Statevector agree on.
    """
    n = circuit.num_qubits
    saving = circuit.copy()
    saving.save_probabilities()
    if bind_here:
        bound = [saving.assign_parameters(row) for row in values]
        result = simulator.run(bound, method="statevector").result()
        bits = (np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
        probs = [probabilities_qubit0_first(result.data(i)["probabilities"], n)
                 for i in range(len(values))]
        return np.asarray(probs) @ bits
    binds = [{p: values[:, i].tolist() for i, p in enumerate(circuit.parameters)}]
    result = simulator.run([saving], parameter_binds=binds, method="statevector").result()
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    probs = [probabilities_qubit0_first(result.data(i)["probabilities"], n)
             for i in range(len(values))]
    return np.asarray(probs) @ bits
