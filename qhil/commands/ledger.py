"""`qhil ledger PATH`: what a run bought and how long it waited, per provider, from its ledger.
`qhil ledger --verify PATH`: SQLite's integrity check and the accounting invariants
(qhil/execution/ledger_verify.py); exit 0 with one OK line, 1 with what is wrong."""

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
    p.add_argument("--verify", action="store_true",
                   help="Check the file instead of summarising it: SQLite's integrity check, every "
                   "job settled or in flight, totals equal to the rows, nothing stored twice "
                   "(exit 0 when sound, 1 with what is wrong; nothing is changed).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.verify:
        return print_verdict(_ledger_path(Path(args.path)), args.as_json)
    report = read(Path(args.path))
    print(json.dumps(report) if args.as_json else _summary(report))
    return 0


def print_verdict(path: Path, as_json: bool) -> int:
    """One line: OK and what the ledger holds, or FAILED and every problem found."""
    from qhil.execution.ledger_verify import verify as check

    verdict = check(path)
    if as_json:
        print(json.dumps({"path": str(path), "ok": not verdict.problems, **asdict(verdict)}))
    elif verdict.problems:
        print(f"{path}: FAILED: {'; '.join(verdict.problems)}")
    else:
        print(f"{path}: OK: integrity check passed; {verdict.jobs} paid jobs ({verdict.done} "
              f"done, {verdict.in_flight} in flight), each settled or in flight, totals equal "
              f"to the rows, nothing stored twice")
    return 1 if verdict.problems else 0


def _ledger_path(path: Path) -> Path:
    """A ledger file (a run folder stands for its ledger.sqlite); a missing or foreign file is
    a user error (exit 2)."""
    path = _find(path)
    with open(path, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise ConfigError(f"{path}: not a qhil ledger (not an SQLite file); pass the "
                              f"ledger.sqlite of a run")
    return path


def _find(path: Path) -> Path:
    if path.is_dir() and (path / "ledger.sqlite").is_file():
        path = path / "ledger.sqlite"
    if not path.is_file():
        raise ConfigError(f"{path}: no such ledger file; pass the ledger.sqlite of a run")
    return path


def read(path: Path) -> dict:
    """Totals and per-provider latency percentiles; a missing or foreign file is a user error.
    A run folder stands for its ledger.sqlite."""
    path = _find(path)
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
