"""How the IBM adapter reaches Qiskit Runtime: the cloud service, or local testing mode.

Both clients answer the same calls, so everything above them (translation, transpilation,
PUB building, polling, result conversion, error mapping) is one code path:

    client.backend() -> BackendV2       the target circuits are transpiled for
    client.run(pubs, shots, seed, tags, dry_run=False) -> job
                                        one client-side Sampler job for all PUBs of a batch
    client.job(job_id) -> job           re-attach by id
    client.find(tag) -> job | None      the newest job carrying that job tag (cloud only)

The cloud runs `qiskit_ibm_runtime.executor_sampler.Sampler`, the client-side Sampler that
replaces the server-side `SamplerV2` (deprecated in 0.50.0): it turns the PUBs into one Executor
quantum program (one item per PUB) on the client and the service runs it as one job. Local testing
mode simulates the same PUBs with Aer: by default in one Aer `SamplerV2` execution
(`local_sampler = "aer"`); `local_sampler = "executor"` takes the client-side Sampler's own local
path, which runs one Aer execution per item and serialises the noise model again for each
(benchmarks/repro_ibm_local_executor.py). Both return SamplerPubResults carrying the circuits'
metadata, so the result conversion above them is one code path. `dry_run=True` asks the service to validate the job and estimate its usage
without running it on the QPU (cloud only; local testing mode ignores it).
"""

from __future__ import annotations

from typing import Any

from qhil.adapters.qiskit_backends import (
    ReducedDevice,
    active_qubits,
    compact_circuit,
    fake_backend,
)
from qhil.errors import ConfigError, PermanentProviderError

MODES = ("job", "batch", "session")


def sampler(mode: Any, options: dict | None = None) -> Any:
    """qiskit-ibm-runtime's client-side Sampler on a backend, Batch or Session."""
    from qiskit_ibm_runtime.executor_sampler import Sampler

    return Sampler(mode=mode, options=options)


def aer_sampler(backend: Any, seed: int | None) -> Any:
    """Aer's SamplerV2 on an AerSimulator: every PUB of a job in one execution."""
    from qiskit_aer.primitives import SamplerV2

    return SamplerV2.from_backend(backend, seed=seed)


class CloudRuntimeClient:
    """IBM Quantum through QiskitRuntimeService, in job, batch or session mode."""

    local = False

    def __init__(self, service: Any, device: str, mode: str = "job"):
        if mode not in MODES:
            raise ConfigError(f"IBM execution mode must be one of {', '.join(MODES)}, got '{mode}'")
        self.service, self.device, self.mode = service, device, mode
        self._backend: Any = None
        self._context: Any = None

    def backend(self) -> Any:
        if self._backend is None:
            self._backend = self.service.backend(self.device)
        return self._backend

    def run(self, pubs: list[tuple], shots: int, seed: int | None, tags: tuple[str, ...] = (),
            dry_run: bool = False) -> Any:
        options = {"environment": {"job_tags": list(tags)}} if tags else None
        return sampler(self._mode_object(), options).run(pubs, shots=shots, dry_run=dry_run)

    def job(self, job_id: str) -> Any:
        return self.service.job(job_id)

    def find(self, tag: str) -> Any | None:
        jobs = self.service.jobs(job_tags=[tag], backend_name=self.device, limit=1)
        return jobs[0] if jobs else None

    def _mode_object(self) -> Any:
        if self.mode == "job":
            return self.backend()
        if self._context is None:
            from qiskit_ibm_runtime import Batch, Session

            cls = Batch if self.mode == "batch" else Session
            self._context = cls(backend=self.backend())
        return self._context

    def close(self) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None


class LocalRuntimeClient:
    """Local testing mode: the client-side Sampler on a fake backend (Aer with its noise model),
    optionally restricted to the qubits the circuits use."""

    local = True

    def __init__(self, backend_name: str, restrict: bool = True, local_sampler: str = "aer"):
        self._backend = fake_backend(backend_name)
        self.restrict = restrict
        self.local_sampler = local_sampler
        self._reduced = ReducedDevice(self._backend)
        self._jobs: dict[str, Any] = {}
        self._compact: dict[tuple[int, tuple[int, ...]], tuple[Any, Any]] = {}
        self._full: Any = None  # AerSimulator of the whole fake backend (restrict = false)

    def backend(self) -> Any:
        return self._backend

    def run(self, pubs: list[tuple], shots: int, seed: int | None, tags: tuple[str, ...] = (),
            dry_run: bool = False) -> Any:
        if dry_run:
            raise PermanentProviderError("local testing mode has no dry run; it is free, run it")
        mode, pubs = self._restricted(pubs) if self.restrict else (self._backend, pubs)
        if self.local_sampler == "aer":
            job = aer_sampler(self._aer_backend(mode), seed).run(pubs, shots=shots)
        else:
            # the SDK ignores a falsy seed_simulator, so seed 0 must not reach it as 0
            options = None if seed is None else {"simulator": {"seed_simulator": seed + 1}}
            job = sampler(mode, options).run(pubs, shots=shots)
        self._jobs[job.job_id()] = job
        return job

    def _restricted(self, pubs: list[tuple]) -> tuple[Any, list[tuple]]:
        active = active_qubits(circuit for circuit, *_ in pubs)
        compact = [(self._compacted(circuit, active), *rest) for circuit, *rest in pubs]
        return self._reduced.simulator(active), compact

    def _aer_backend(self, mode: Any) -> Any:
        """The AerSimulator a job runs on: the reduced one as it is, the whole fake backend's
        built once per client (its noise model spans every qubit of the device)."""
        from qiskit_aer import AerSimulator

        if isinstance(mode, AerSimulator):
            return mode
        if self._full is None:
            self._full = AerSimulator.from_backend(mode)
        return self._full

    def _compacted(self, circuit: Any, active: list[int]) -> Any:
        """compact_circuit, once per (ISA circuit, qubit set): the transpile cache hands the same
        ISA circuit object back for a structure, so a training stream compacts each once."""
        key = (id(circuit), tuple(active))
        held = self._compact.get(key)
        if held is None or held[0] is not circuit:
            held = self._compact[key] = (circuit, compact_circuit(circuit, active))
        return held[1]

    def job(self, job_id: str) -> Any:
        if job_id not in self._jobs:
            raise PermanentProviderError(
                f"local testing mode has no job {job_id}; local jobs do not survive a restart",
                job_id=job_id)
        return self._jobs[job_id]

    def close(self) -> None:
        self._jobs.clear()
