"""Is a cloud device reachable from here? Credentials being present says nothing about that (an
offline machine, a firewall), so `qhil providers` tells the three cases apart:

    where(profile)          "local" (runs on this machine) or "cloud"
    reach(profile, 3.0)     Availability: the service's endpoint answered a TCP connect in time

A TCP connect to the service's HTTPS endpoint is the cheapest honest check: no credentials are
sent and nothing is billed. It cannot tell whether the credentials are valid (the first real
call does: AuthenticationError).
"""

from __future__ import annotations

import os
import socket
import threading

from qhil.config import ProviderProfile
from qhil.execution.provider import Availability

CHECK_TIMEOUT_S = 3.0
IBM_HOST = "quantum.cloud.ibm.com"


def where(profile: ProviderProfile) -> str:
    """'cloud' for a device behind a network service, else 'local'."""
    if profile.kind == "braket":
        return "cloud" if profile.device.startswith("arn:aws:braket:") else "local"
    if profile.kind == "ibm":
        return "local" if profile.options.get("local_backend") else "cloud"
    if profile.kind == "chaos":
        return "local"  # its inner provider is checked on its own line
    return "local"


def endpoint(profile: ProviderProfile) -> tuple[str, int]:
    """The (host, port) a job submission to this profile's service goes to."""
    if profile.kind == "braket":
        region = str(profile.options.get("region") or _arn_region(profile.device)
                     or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                     or "us-east-1")
        return f"braket.{region}.amazonaws.com", 443
    url = str(profile.options.get("url") or IBM_HOST)
    host = url.split("://")[-1].split("/")[0]
    return host, 443


def _arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def reach(profile: ProviderProfile, timeout_s: float = CHECK_TIMEOUT_S) -> Availability:
    """Whether the profile's service answers within `timeout_s` (name lookup included)."""
    host, port = endpoint(profile)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=connect, daemon=True, name="qhil-reach")
    worker.start()
    worker.join(timeout_s)
    if not outcome:
        return Availability(False, f"{host}:{port} did not answer within {timeout_s:g} s (offline?)")
    if outcome[0] is not None:
        return Availability(False, f"{host}:{port} unreachable ({outcome[0]}) (offline?)")
    return Availability(True, f"{host} answered (credentials are checked by the first job)")


def require_reachable(profile: ProviderProfile, timeout_s: float = CHECK_TIMEOUT_S) -> None:
    """Before a run folder is created: a cloud device whose service does not answer is refused."""
    from qhil.errors import ProviderUnavailableError

    if where(profile) != "cloud":
        return
    status = reach(profile, timeout_s)
    if not status.usable:
        raise ProviderUnavailableError(
            f"provider '{profile.name}' cannot be reached: {status.reason}; nothing was created "
            f"or sent; check the network, or run on a local profile (qhil providers)")
