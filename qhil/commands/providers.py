"""`qhil providers`: the known provider profiles and whether each is usable here."""

from __future__ import annotations

import argparse
import json

from qhil.config import profile_dirs
from qhil.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("providers")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print one JSON list.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qhil.execution.registry import list_profiles

    rows = [_row(profile) for profile in list_profiles()]
    if args.as_json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        raise ConfigError("no provider profiles found; looked in "
                          + ", ".join(str(d) for d in profile_dirs()))
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        why = r["description"] if r["usable"] else r["reason"]
        print(f"{r['name']:<{width}}  {r['kind']:<6}  {'usable' if r['usable'] else 'NOT usable':<10}  {why}")
    return 0


def _row(profile) -> dict:
    from qhil.execution.registry import availability

    status = availability(profile)
    return {"name": profile.name, "kind": profile.kind, "device": profile.device,
            "usable": status.usable, "reason": status.reason,
            "max_qubits": profile.limits.max_qubits, "description": profile.description}
