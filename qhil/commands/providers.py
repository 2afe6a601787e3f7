"""`qhil providers`: the known provider profiles and whether each is usable here.

Three answers, honestly told apart: "usable here" (runs on this machine), "credentials found -
not checked (offline?)" (a cloud device: credentials are configured, but nothing says the
service can be reached; `--check` tries each with a short timeout) and "NOT usable" (missing
credentials or SDK, retired device, a calibration file that does not load, with the reason).
A profile file that does not parse is listed as "INVALID profile" with its error, beside the rest.
"""

from __future__ import annotations

import argparse
import json
from typing import NamedTuple

from qhil.commands._args import positive_float
from qhil.config import profile_dirs
from qhil.errors import ConfigError

STATUS_TEXT = {"usable": "usable here", "unchecked": "credentials found - not checked (offline?)",
               "reachable": "reachable", "unreachable": "unreachable", "unusable": "NOT usable",
               "invalid": "INVALID profile"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("providers")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print one JSON list.")
    p.add_argument("--check", action="store_true",
                   help="Try each cloud service with credentials found (a TCP connect to its "
                   "endpoint, nothing sent or billed) (default: off, offline answers only).")
    p.add_argument("--timeout-s", type=positive_float, default=3.0,
                   help="Wait per service for --check.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    profiles = _profiles()
    with ThreadPoolExecutor(max_workers=8) as pool:  # --check: every service at once
        rows = list(pool.map(lambda p: _row(p, args.check, args.timeout_s), profiles))
    if args.as_json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        raise ConfigError("no provider profiles found; looked in "
                          + ", ".join(str(d) for d in profile_dirs()))
    width = max(len(r["name"]) for r in rows)
    state = max(len(STATUS_TEXT[r["status"]]) for r in rows)
    for r in rows:
        why = r["description"] if r["status"] == "usable" else r["reason"]
        print(f"{r['name']:<{width}}  {r['kind']:<6}  {STATUS_TEXT[r['status']]:<{state}}  {why}")
    return 0


class Invalid(NamedTuple):
    """A profile file that does not parse: its name and what is wrong with it."""

    name: str
    reason: str


def _profiles() -> list:
    """Every profile in name order; a malformed one stays in the list as `Invalid`, so it is
    flagged beside the good ones instead of hiding them."""
    from qhil.config import find_profile, profile_names

    found = []
    for name in sorted(profile_names()):
        try:
            found.append(find_profile(name))
        except ConfigError as exc:
            found.append(Invalid(name, str(exc)))
    return found


def _invalid_row(bad: Invalid) -> dict:
    return {"name": bad.name, "kind": "?", "device": None, "where": None, "usable": False,
            "status": "invalid", "checked": True, "reason": bad.reason, "max_qubits": None,
            "description": ""}


def _row(profile, check: bool, timeout_s: float) -> dict:
    from qhil.execution.reach import reach, where
    from qhil.execution.registry import availability

    if isinstance(profile, Invalid):
        return _invalid_row(profile)
    status = availability(profile)
    cloud = where(profile) == "cloud"
    state, reason = ("unusable", status.reason) if not status.usable else ("usable", "")
    if status.usable and cloud:
        state, reason = "unchecked", ("credentials found; the service was not contacted "
                                      "(qhil providers --check tries it)")
        if check:
            answer = reach(profile, timeout_s)
            state, reason = ("reachable" if answer.usable else "unreachable"), answer.reason
    return {"name": profile.name, "kind": profile.kind, "device": profile.device,
            "where": "cloud" if cloud else "local", "usable": status.usable, "status": state,
            "checked": not cloud or check, "reason": reason,
            "max_qubits": profile.limits.max_qubits, "description": profile.description}
