"""`qhil ledger --verify PATH`: is a ledger sound, and does its accounting add up?

    verdict = verify(path)     Verdict(jobs, done, in_flight, problems); problems == [] if sound

Read through a read-only connection (`sqlite.read_only`): verifying changes nothing. Checks:
- SQLite's own `PRAGMA integrity_check` (pages, indexes, constraints); nothing else is read from a
  file that fails it;
- every row's status and billed flag is one the ledger writes;
- every reservation is settled or still in flight: a job marked done holds its result and counts
  as bought, a job the provider accepted has its id and counts as bought (in-flight jobs of a
  killed run are legal: `--resume` re-attaches them; the verdict counts them);
- counts and dollars are readable and not negative, and the totals a run's summary.json reports
  for its provider equal the ledger's rows (a distributed run, whose summary lists `explorers`:
  an explorer's ledger equals its row, and the summary's totals equal the sum of the run's
  ledgers, `ledger*.sqlite`);
- nothing stored twice: no provider job id in two rows, no request with two stored results.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from qhil.errors import QhilError
from qhil.execution.ledger import (
    DONE,
    FAILED,
    JOINED,
    LOST,
    SCHEMA_VERSION,
    SUBMITTED,
    SUBMITTING,
    schema_version,
)
from qhil.execution.sqlite import read_only

STATUSES = tuple(s.code for s in (SUBMITTING, SUBMITTED, DONE, FAILED, LOST))


@dataclass
class Verdict:
    """What `verify` found: the paid jobs by state, and each problem as one phrase."""

    jobs: int = 0
    done: int = 0
    in_flight: int = 0
    problems: list[str] = field(default_factory=list)


def verify(path: Path) -> Verdict:
    """The verdict on the ledger at `path` (an unreadable database is a problem, not a raise)."""
    verdict = Verdict()
    try:
        with read_only(path) as db:
            verdict.problems = _integrity(db)
            if not verdict.problems:
                _account(db, path, verdict)
    except sqlite3.DatabaseError as exc:
        verdict.problems.append(f"SQLite cannot read it ({exc})")
    return verdict


def _integrity(db: sqlite3.Connection) -> list[str]:
    rows = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
    if rows == ["ok"]:
        return []
    return [f"integrity check: {' / '.join(rows[:3])}" + (" ..." if len(rows) > 3 else "")]


def _account(db: sqlite3.Connection, path: Path, verdict: Verdict) -> None:
    version = schema_version(db)
    if version != SCHEMA_VERSION:
        verdict.problems.append(f"schema {version}, not {SCHEMA_VERSION}: open it once with "
                                f"'qhil ledger {path}' (which migrates it), then verify")
        return
    verdict.jobs, verdict.done = _count(db, "billed = 1"), _count(db, f"status = {DONE.code}")
    verdict.in_flight = _count(db, f"status IN ({SUBMITTING.code}, {SUBMITTED.code})")
    checks = (_known_states, _settled, _stored_once, _readable_amounts)
    verdict.problems += [problem for check in checks for problem in check(db)]
    verdict.problems += _summary_matches(db, path)


def _count(db: sqlite3.Connection, where: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM jobs WHERE {where}").fetchone()[0]


def _known_states(db: sqlite3.Connection) -> list[str]:
    bad = _count(db, f"status NOT IN {STATUSES} OR billed NOT IN (0, 1)")
    return [f"{bad} rows with a status or billed flag the ledger never writes"] if bad else []


def _settled(db: sqlite3.Connection) -> list[str]:
    """Every reservation committed (done: result stored, bought), released, or in flight."""
    found = []
    done = _count(db, f"status = {DONE.code} AND (result IS NULL OR billed = 0)")
    if done:
        found.append(f"{done} jobs marked done without a stored result or not counted as bought")
    accepted = _count(db, f"status = {SUBMITTED.code} AND (id IS NULL OR billed = 0)")
    if accepted:
        found.append(f"{accepted} accepted jobs without a provider job id or not counted as bought")
    return found


def _stored_once(db: sqlite3.Connection) -> list[str]:
    found = []
    ids = db.execute("SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE id IS NOT NULL "
                     "GROUP BY target, id HAVING COUNT(*) > 1)").fetchone()[0]
    if ids:
        found.append(f"{ids} provider job ids recorded in more than one row")
    twice = db.execute(f"SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM jobs "
                       f"WHERE status = {DONE.code} GROUP BY target, request_hash "
                       f"HAVING n > 1)").fetchone()[0]
    if twice:
        found.append(f"{twice} results stored twice for one request (bought again)")
    return found


def _readable_amounts(db: sqlite3.Connection) -> list[str]:
    bad = _count(db, "circuits < 1 OR shots < circuits")
    costs = [r[0] for r in db.execute("SELECT cost_usd FROM jobs")]
    bad_costs = sum(not _non_negative(cost) for cost in costs)
    found = [f"{bad} rows with fewer than 1 circuit or fewer shots than circuits"] if bad else []
    return found + ([f"{bad_costs} rows with an unreadable or negative cost"] if bad_costs else [])


def _non_negative(text: str) -> bool:
    try:
        return Decimal(text) >= 0
    except (InvalidOperation, TypeError):
        return False


def _profile_name(provider: str) -> str:
    """The name the ledger records for a run's provider: a run configured with a profile's path
    (`provider = "my/device.toml"`) books its jobs under the profile's `name`."""
    if not (provider.endswith(".toml") or "/" in provider):
        return provider
    from qhil.config import load_toml

    try:
        return str(load_toml(Path(provider)).get("name", provider))
    except QhilError:
        return provider  # the profile has moved: the rows are compared under the path


def _summary_matches(db: sqlite3.Connection, path: Path) -> list[str]:
    """A run folder's summary.json reports its provider's jobs, circuits and shots from this
    ledger (`path`); they must still equal the rows (nothing bought after it, nothing lost)."""
    summary_path = path.parent / "summary.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        provider, hw = summary["provider"], summary["hw"]
        reported = (hw["jobs"], hw["circuits"], hw["shots"])
    except (OSError, ValueError, KeyError, TypeError):
        return []  # no summary (a ledger alone, a run not finished) or one without these counts
    if summary.get("explorers"):
        return _distributed_matches(db, path, summary["explorers"], reported)
    rows = db.execute(f"SELECT COUNT(*), COALESCE(SUM(circuits), 0), COALESCE(SUM(shots), 0) "
                      f"FROM {JOINED} WHERE billed = 1 AND provider = ?",
                      (_profile_name(provider),)).fetchone()
    if tuple(rows) == tuple(reported):
        return []
    return [f"summary.json reports {reported[0]} jobs, {reported[1]} circuits, {reported[2]} "
            f"shots on {provider}; the ledger's rows hold {rows[0]}, {rows[1]}, {rows[2]}"]


def _paid(db: sqlite3.Connection) -> tuple[int, int, int]:
    return tuple(db.execute(f"SELECT COUNT(*), COALESCE(SUM(circuits), 0), COALESCE(SUM(shots), 0) "
                            f"FROM {JOINED} WHERE billed = 1").fetchone())


def _distributed_matches(db: sqlite3.Connection, path: Path, explorers: list[dict],
                         reported: tuple) -> list[str]:
    """A distributed run: this ledger's paid jobs equal its explorer's row (when it is one), and
    the summary's totals equal the sum over every ledger of the run."""
    found, own = [], _paid(db)
    row = next((r for r in explorers if r.get("ledger") == path.name), None)
    if row is not None and (own[0], own[2]) != (row["jobs"], row["shots"]):
        found.append(f"summary.json reports {row['jobs']} jobs, {row['shots']} shots for explorer "
                     f"{row['explorer']}; its ledger's rows hold {own[0]}, {own[2]}")
    every = [0, 0, 0]
    for each in sorted(path.parent.glob("ledger*.sqlite")):
        with read_only(each) as other:
            every = [a + b for a, b in zip(every, _paid(other), strict=True)]
    if tuple(every) != tuple(reported):
        found.append(f"summary.json reports {reported[0]} jobs, {reported[1]} circuits, "
                     f"{reported[2]} shots over the run's ledgers; their rows hold {every[0]}, "
                     f"{every[1]}, {every[2]}")
    return found
