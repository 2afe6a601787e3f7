"""Typed `[options]` of the local, aer and ibm profiles (braket: `BraketOptions`, chaos:
`ChaosSettings`). A misspelt or mistyped option is a ConfigError naming the file and the field,
raised when the provider is built, before anything runs.

    opts = parse_options(LocalOptions, profile)
"""

from __future__ import annotations

import re
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, field_validator

from qhil.config import ProviderProfile, StrictModel
from qhil.errors import ConfigError

Options = TypeVar("Options", bound=StrictModel)


class LocalOptions(StrictModel):
    """The embedded simulator."""

    device: str = Field("auto", description='Torch device: "auto" (CUDA when present), "cpu", "cuda" or '
                        '"cuda:N" (whether CUDA is there is checked by the local adapter).')
    precision: Literal["complex64", "complex128"] = Field("complex64", description="State precision.")
    noise: bool = Field(False, description="Apply the calibration file's readout and depolarising noise.")
    counts: bool = Field(True, description="False skips building per-circuit count dictionaries.")

    @field_validator("device")
    @classmethod
    def _known_device(cls, device: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
            raise ValueError(f'must be "auto", "cpu", "cuda" or "cuda:N", got {device!r}')
        return device


class AerOptions(StrictModel):
    """AerSimulator, optionally with a fake backend's noise."""

    noise_backend: str | None = Field(None, description="Fake backend class whose noise to apply.")
    optimization_level: int = Field(1, ge=0, le=3, description="Preset pass manager level (noisy runs).")


class IBMOptions(StrictModel):
    """Qiskit Runtime, in the cloud or in local testing mode."""

    local_backend: str | None = Field(None, description="Fake backend class: local testing mode.")
    restrict: bool = Field(True, description="Local mode: simulate only the qubits the layout uses.")
    local_sampler: Literal["aer", "executor"] = Field(
        "aer", description="Local mode: 'aer' runs a job's PUBs in one Aer SamplerV2 execution; "
        "'executor' through the client-side Sampler's local path (one Aer execution per PUB).")
    mode: Literal["job", "batch", "session"] = Field("job", description="Cloud execution mode.")
    channel: str | None = Field(None, description="QiskitRuntimeService channel.")
    instance: str | None = Field(None, description="QiskitRuntimeService instance.")
    optimization_level: int = Field(1, ge=0, le=3, description="Preset pass manager level.")
    max_executions: int = Field(10_000_000, ge=1, description="Circuits x shots one job may carry.")
    poll_s: float | None = Field(None, gt=0, description="Seconds between status polls "
                                 "(default 0.05 locally, 2 in the cloud).")
    dry_run: bool = Field(True, description="Cloud: send the service a dry run of a batch first.")


def parse_options(model: type[Options], profile: ProviderProfile) -> Options:
    """The profile's [options] as `model`; a bad one names the file and `options.<field>`."""
    try:
        return model(**profile.options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(["options", *(str(p) for p in err["loc"])])
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{profile.source_path}: field '{where}': {msg}") from None
