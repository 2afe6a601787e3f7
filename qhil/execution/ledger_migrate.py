"""Ledger schema upgrades, run by `Ledger` inside the transaction that opens the file.

    migrate(db, version, schema)   0 (empty file) or 1 (qhil before schema versions) -> 2

Schema 1 kept text tokens, hashes, provider and device names and statuses in every row, epoch
seconds as REAL, and results as self-describing blobs (resultcodec.encode_result). Its rows are
rewritten into schema 2 in submission order; a result blob that cannot be read is dropped (the
row, its status and its spending are kept; the result is then not reused).
"""

from __future__ import annotations

import sqlite3

from qhil.execution.resultcodec import decode_result, encode_payload
from qhil.execution.sqlite import key

V1_COLUMNS = ("token, id, provider, device, request_hash, circuits, shots, attempts, status, "
              "billed, cost_usd, submit_called_at, accepted_at, queued_at, running_at, "
              "finished_at, fetched_at, error, result")
STATUSES = ("SUBMITTING", "SUBMITTED", "DONE", "FAILED", "LOST")


def migrate(db: sqlite3.Connection, version: int, schema: str) -> None:
    """Bring the open transaction's database to schema 2."""
    if version == 1:
        for index in ("jobs_by_hash", "jobs_by_id"):
            db.execute(f"DROP INDEX IF EXISTS {index}")
        db.execute("ALTER TABLE jobs RENAME TO jobs_v1")
    for statement in schema.split(";"):
        if statement.strip():
            db.execute(statement)
    if version == 1:
        _copy_v1(db)
        db.execute("DROP TABLE jobs_v1")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '2')")


def _copy_v1(db: sqlite3.Connection) -> None:
    targets: dict[tuple[str, str], int] = {}
    for row in db.execute(f"SELECT {V1_COLUMNS} FROM jobs_v1 ORDER BY rowid").fetchall():
        token, job_id, provider, device, digest, circuits, shots, attempts, status, billed, \
            cost, called, accepted, queued, running, finished, fetched, error, blob = row
        target = targets.get((provider, device)) or _target(db, targets, provider, device)
        us = [_us(t, called) for t in (accepted, queued, running, finished, fetched)]
        db.execute(
            "INSERT INTO jobs (token, id, target, request_hash, circuits, shots, attempts, status, "
            "billed, cost_usd, submit_called_at, accepted_us, queued_us, running_us, finished_us, "
            "fetched_us, error, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key(token), job_id, target, key(digest), circuits, shots, attempts,
             STATUSES.index(status), billed, cost, called, *us, error, _payload(blob)))


def _target(db: sqlite3.Connection, targets: dict, provider: str, device: str) -> int:
    db.execute("INSERT OR IGNORE INTO targets (provider, device) VALUES (?, ?)", (provider, device))
    (target,) = db.execute("SELECT id FROM targets WHERE provider = ? AND device = ?",
                           (provider, device)).fetchone()
    targets[(provider, device)] = target
    return target


def _us(at: float | None, base: float | None) -> int | None:
    return None if at is None or base is None else round((at - base) * 1e6)


def _payload(blob: bytes | None) -> bytes | None:
    if blob is None:
        return None
    try:
        return encode_payload(decode_result(blob))
    except (ValueError, KeyError):
        return None
