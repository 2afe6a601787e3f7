"""The Provider contract: every backend, local or cloud, is driven through this surface.

    provider.capabilities() -> Capabilities
    provider.submit(request) -> Job        validates first, returns at once
    provider.attach(job_id) -> Job         re-attach after a restart
    provider.find_job(token) -> Job | None  the job sent with tag qhil_token=token, where the
                                           service can be searched (`supports_lookup`)
    provider.dry_run(request) -> DryRun | None  the service's own check of a batch, nothing run
                                           or billed; None where the service offers none
    Provider.availability(profile) -> Availability   usable here, or why not

Adapters implement `_submit` (and `_attach` where the service can look a job up). The public
`submit` is the one place where validation happens before anything is spent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from qhil.config import ProviderProfile
from qhil.errors import PermanentProviderError, RequestValidationError
from qhil.execution.job import Job
from qhil.quantum.request import SamplingRequest

TOKEN_TAG = "qhil_token"
"""Request tag carrying the Dispatcher's client token; adapters that can tag jobs should."""


@dataclass(frozen=True)
class Capabilities:
    """What a provider accepts and how it batches and bills."""

    max_qubits: int
    min_shots: int
    max_shots: int
    supports_exact: bool
    max_circuits_per_job: int
    native_batching: bool
    pricing_model: str
    supports_seed: bool = False


@dataclass(frozen=True)
class Availability:
    """Whether a provider can be used on this machine, and if not, why and how to fix it."""

    usable: bool
    reason: str = ""


@dataclass(frozen=True)
class DryRun:
    """What a service said of a batch it validated without running: its job and usage estimate."""

    job_id: str
    usage: dict[str, float]

    def describe(self) -> str:
        qpu = self.usage.get("qpu_s")
        estimate = "no usage estimate" if qpu is None else f"estimated {qpu:.3g} QPU s per batch"
        return f"dry run {self.job_id} accepted the batch; {estimate}"


class Provider(ABC):
    """A backend that samples batches of hDQNN circuits."""

    kind: str = ""
    native_batching: bool = False
    supports_seed: bool = False
    supports_lookup: bool = False
    exact_probabilities: bool = False
    """Whether a shots=None template request that asks for counts gets the exact joint
    distribution (`SamplingResult.probabilities`), not only the per-qubit marginals."""

    def __init__(self, profile: ProviderProfile):
        self.profile = profile

    @property
    def name(self) -> str:
        return self.profile.name

    @classmethod
    def availability(cls, profile: ProviderProfile) -> Availability:
        """Usable here? Adapters check their SDK import and credentials without network calls."""
        return Availability(usable=True)

    def capabilities(self) -> Capabilities:
        limits = self.profile.limits
        return Capabilities(
            max_qubits=limits.max_qubits, min_shots=limits.min_shots, max_shots=limits.max_shots,
            supports_exact=limits.supports_exact, max_circuits_per_job=limits.max_circuits_per_job,
            native_batching=self.native_batching, pricing_model=self._pricing_model(),
            supports_seed=self.supports_seed)

    def validate(self, request: SamplingRequest) -> None:
        """Raise RequestValidationError if the request does not fit this device."""
        caps = self.capabilities()
        if request.n_qubits > caps.max_qubits:
            raise RequestValidationError(
                f"{request.n_qubits} qubits requested but {self.name} has {caps.max_qubits}; "
                f"use fewer qubits or another provider")
        if request.shots is None and not caps.supports_exact:
            raise RequestValidationError(
                f"{self.name} cannot return exact marginals; pass a shot count")
        if request.shots is not None and not caps.min_shots <= request.shots <= caps.max_shots:
            raise RequestValidationError(
                f"shots={request.shots} outside {self.name}'s range "
                f"{caps.min_shots}..{caps.max_shots}")

    def submit(self, request: SamplingRequest) -> Job:
        """Validate, then hand the batch to the adapter; returns without waiting for the result."""
        self.validate(request)
        return self._submit(request)

    def attach(self, job_id: str) -> Job:
        """The job of that id, re-attached after a restart."""
        return self._attach(job_id)

    def find_job(self, token: str) -> Job | None:
        """The job submitted with tag `qhil_token=token`, or None if the service has none.

        Adapters whose service can be searched by tag set `supports_lookup = True` and override
        this; the Dispatcher asks it after an ambiguous failure (a submission that timed out).
        """
        return None

    def dry_run(self, request: SamplingRequest, timeout_s: float = 600.0) -> DryRun | None:
        """The service's dry run of a batch (validated, usage estimated, nothing run or billed);
        None where the service offers none. Commands call it before they spend."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook; most adapters hold nothing to release
        """Release threads and connections."""

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def _submit(self, request: SamplingRequest) -> Job: ...

    def _attach(self, job_id: str) -> Job:
        raise PermanentProviderError(f"{self.name} cannot re-attach to job {job_id}")

    def _pricing_model(self) -> str:
        return "free"
