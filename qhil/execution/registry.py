"""Provider lookup: a profile name becomes a ready Provider of the profile's kind.

Adapters are imported lazily, so a missing optional SDK is reported as "install qhil[...]"
only when that provider is asked for.
"""

from __future__ import annotations

import importlib

from qhil.config import ProviderProfile, find_profile, profile_names
from qhil.errors import ConfigError, ProviderUnavailableError
from qhil.execution.provider import Availability, Provider

ADAPTERS: dict[str, str] = {
    "local": "qhil.adapters.local:LocalProvider",
    "braket": "qhil.adapters.braket:BraketProvider",
    "ibm": "qhil.adapters.qiskit:IBMProvider",
    "aer": "qhil.adapters.qiskit:AerProvider",
    "chaos": "qhil.adapters.chaos:ChaosProvider",
}


def adapter_class(profile: ProviderProfile) -> type[Provider]:
    """The Provider subclass for a profile's kind."""
    target = ADAPTERS.get(profile.kind)
    if target is None:
        raise ConfigError(f"{profile.source_path}: field 'kind': unknown kind '{profile.kind}'; "
                          f"known: {', '.join(ADAPTERS)}")
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ProviderUnavailableError(
            f"provider '{profile.name}' needs {exc.name}, which is not installed; "
            f"install qhil[{_extra(profile.kind)}]") from exc
    return getattr(module, class_name)


def availability(profile: ProviderProfile) -> Availability:
    """Whether the profile's provider is usable here, without spending anything."""
    try:
        cls = adapter_class(profile)
        _check_calibration(profile)
    except (ProviderUnavailableError, ConfigError) as exc:
        return Availability(usable=False, reason=str(exc))
    return cls.availability(profile)


def _check_calibration(profile: ProviderProfile) -> None:
    """The calibration file a profile names must load: every price and estimate reads it."""
    from qhil.execution.pricing import calibration_for

    try:
        calibration_for(profile)
    except ConfigError as exc:
        raise ConfigError(f"its calibration does not load ({exc}); fix `calibration` in "
                          f"{profile.source_path}") from None


def get_provider(name: str) -> Provider:
    """A provider by profile name (providers/NAME.toml) or profile path."""
    return provider_for(find_profile(name))


def provider_for(profile: ProviderProfile) -> Provider:
    """The ready Provider of a loaded profile; an unusable one is refused."""
    cls = adapter_class(profile)
    status = cls.availability(profile)
    if not status.usable:
        raise ProviderUnavailableError(f"provider '{profile.name}' is not usable here: {status.reason}")
    return cls(profile)


def list_profiles() -> list[ProviderProfile]:
    """Every known profile, in name order; malformed ones raise ConfigError."""
    return [find_profile(name) for name in sorted(profile_names())]


def _extra(kind: str) -> str:
    return {"braket": "braket", "ibm": "ibm", "aer": "ibm"}.get(kind, "all")
