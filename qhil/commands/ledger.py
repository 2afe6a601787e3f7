"""`qhil ledger PATH`: what a run bought and how long it waited, per provider, from its ledger."""

from __future__ import annotations

import argparse
import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from qhil.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ledger")
    p.add_argument("path", help="ledger.sqlite of a run, or the run folder holding it "
                   "(qhil sample --ledger, qhil train --out).")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print one JSON object.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = read(Path(args.path))
    print(json.dumps(report) if args.as_json else _summary(report))
    return 0


def read(path: Path) -> dict:
    """Totals and per-provider latency percentiles; a missing or foreign file is a user error.
    A run folder stands for its ledger.sqlite."""
    if path.is_dir() and (path / "ledger.sqlite").is_file():
        path = path / "ledger.sqlite"
    if not path.is_file():
        raise ConfigError(f"{path}: no such ledger file; pass the ledger.sqlite of a run")
    from qhil.execution.ledger import Ledger

    try:
        with Ledger(path) as ledger:
            providers = ledger.providers()
            return {"path": str(path), "totals": _plain(asdict(ledger.totals())),
                    "providers": {name: {"totals": _plain(asdict(ledger.totals(name))),
                                         "latency": asdict(ledger.latency_stats(name))}
                                  for name in providers}}
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{path}: not a qhil ledger ({exc})") from exc


def _plain(totals: dict) -> dict:
    return {**totals, "cost_usd": str(totals["cost_usd"])}


def _summary(report: dict) -> str:
    from qhil.execution.budget import format_usd

    t = report["totals"]
    lines = [f"{report['path']}: {t['jobs']} paid jobs ({t['done']} done, {t['in_flight']} in "
             f"flight), {t['circuits']} circuits, {t['shots']} shots, "
             f"{format_usd(t['cost_usd'])} estimated, {t['resubmitted']} resubmitted"]
    for name, p in report["providers"].items():
        lines.append(f"  {name}: {p['totals']['jobs']} jobs, {format_usd(p['totals']['cost_usd'])}")
        for what in ("queue_s", "execution_s", "round_trip_s"):
            q = p["latency"][what]
            if q["count"]:
                lines.append(f"    {what:<13} p50 {q['p50']:.3f}  p95 {q['p95']:.3f}  "
                             f"p99 {q['p99']:.3f}  (n={q['count']})")
    return "\n".join(lines)
