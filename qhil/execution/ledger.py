"""The latency ledger and crash-safe result store: one SQLite file (WAL) in the run folder.

    ledger = Ledger(run_dir / "ledger.sqlite")
    ledger.begin(...)                 a row per submission, written BEFORE the provider is called
    ledger.submitted(token, job_id)   the job id, written BEFORE anyone waits on the job
    ledger.finished(token, result)    the result, written BEFORE it is returned to the caller
    ledger.failed(token, error, billed)
    ledger.find_result(request_hash, provider) -> SamplingResult | None    reuse after a restart
    ledger.in_flight(provider) -> list[LedgerEntry]                        re-attach after a restart
    ledger.latency_stats(provider) -> LatencyStats   p50/p95/p99 of queue, execution, round trip
    ledger.totals(provider) -> LedgerTotals          jobs, circuits, shots, dollars, resubmitted
    ledger.spent(provider) -> BudgetState            settled spending, to seed a resumed Budget

Rows are keyed by qhil's client token (one per submission, also sent to the provider as the tag
`qhil_token`); `id` is the provider's job id. `shots` is the request's total (circuits x shots).
`status`: SUBMITTING (row written, provider being called), SUBMITTED (accepted: id known, billed),
DONE (result stored), FAILED, LOST (gone when a restarted process tried to re-attach). `billed` says
whether the job counts as bought; `cost_usd` is the estimate, replaced by the billed cost where the
provider reports usage. `queued_at` is when the service accepted the job into its queue.
Every write is its own committed transaction in WAL mode, so `kill -9` loses nothing written
(synchronous=NORMAL, about 1 ms a job). `durable=True` (or `make_durable()`, which the Dispatcher
calls for a provider that bills) adds an fsync per write (synchronous=FULL, about 20 ms a job
here), so that a power cut or OS crash loses nothing either.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from qhil.execution.budget import BudgetState
from qhil.execution.job import SamplingResult
from qhil.execution.resultcodec import decode_result, encode_result

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    token TEXT PRIMARY KEY,
    id TEXT,
    provider TEXT NOT NULL,
    device TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    circuits INTEGER NOT NULL,
    shots INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    billed INTEGER NOT NULL DEFAULT 0,
    cost_usd TEXT NOT NULL,
    submit_called_at REAL,
    accepted_at REAL,
    queued_at REAL,
    running_at REAL,
    finished_at REAL,
    fetched_at REAL,
    error TEXT,
    result BLOB
);
CREATE INDEX IF NOT EXISTS jobs_by_hash ON jobs (request_hash, status);
CREATE INDEX IF NOT EXISTS jobs_by_id ON jobs (id);
"""

OPEN_TRIES = 20  # about 10 s of retries when concurrent openers race for the WAL switch
SUBMITTING, SUBMITTED, DONE, FAILED, LOST = "SUBMITTING", "SUBMITTED", "DONE", "FAILED", "LOST"
IN_FLIGHT = (SUBMITTING, SUBMITTED)


@dataclass(frozen=True)
class LedgerEntry:
    """One submission as recorded."""

    token: str
    job_id: str | None
    provider: str
    device: str
    request_hash: str
    circuits: int
    shots: int
    attempts: int
    status: str
    billed: bool
    cost_usd: Decimal
    submit_called_at: float | None


@dataclass(frozen=True)
class Percentiles:
    """p50 / p95 / p99 of one latency, over `count` jobs; None when there are none."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, values: list[float]) -> Percentiles:
        if not values:
            return cls(0, None, None, None)
        p50, p95, p99 = np.percentile(np.asarray(values, dtype=float), [50, 95, 99])
        return cls(len(values), float(p50), float(p95), float(p99))


@dataclass(frozen=True)
class LatencyStats:
    """Latency percentiles of finished jobs (of one provider, or all)."""

    jobs: int
    queue_s: Percentiles
    execution_s: Percentiles
    round_trip_s: Percentiles


@dataclass(frozen=True)
class LedgerTotals:
    """What was bought: paid jobs, their circuits, shots and estimated dollars.

    `resubmitted` counts paid jobs beyond the first for one request hash (should be 0).
    """

    jobs: int
    circuits: int
    shots: int
    cost_usd: Decimal
    resubmitted: int
    done: int
    in_flight: int


class Ledger:
    """A thread-safe handle on one ledger file."""

    def __init__(self, path: str | Path, durable: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                   timeout=30.0)
        self._prepare()
        if durable:
            self.make_durable()

    def _prepare(self) -> None:
        """WAL mode and the schema. Switching a new file to WAL needs it alone: when several
        processes open a fresh ledger at once (qtrl agents), SQLite answers "locked" at once,
        without waiting on the busy timeout, so the switch is tried again for a few seconds."""
        for attempt in range(OPEN_TRIES):
            try:
                for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
                    self._db.execute(f"PRAGMA {pragma}")
                self._db.executescript(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == OPEN_TRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def make_durable(self) -> None:
        """fsync every write from now on: survives power loss, not only a killed process."""
        self._write("PRAGMA synchronous=FULL", ())

    @property
    def durable(self) -> bool:
        return self._one("PRAGMA synchronous")[0] == 2

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # writes -------------------------------------------------------------------------------------

    def begin(self, token: str, *, provider: str, device: str, request_hash: str, circuits: int,
              shots: int, cost_usd: Decimal, submit_called_at: float) -> None:
        """Record a submission about to be sent (no job id yet)."""
        self._write(
            "INSERT INTO jobs (token, provider, device, request_hash, circuits, shots, status, "
            "cost_usd, submit_called_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (token, provider, device, request_hash, circuits, shots, SUBMITTING, str(cost_usd),
             submit_called_at))

    def attempt(self, token: str, attempts: int) -> None:
        self._write("UPDATE jobs SET attempts = ? WHERE token = ?", (attempts, token))

    def submitted(self, token: str, job_id: str, accepted_at: float | None = None) -> None:
        """The provider accepted the job: from now on it is paid for and can be re-attached."""
        self._write("UPDATE jobs SET id = ?, status = ?, billed = 1, accepted_at = ?, "
                    "queued_at = ? WHERE token = ? AND status IN (?, ?)",
                    (job_id, SUBMITTED, accepted_at, accepted_at, token, *IN_FLIGHT))

    def finished(self, token: str, result: SamplingResult, fetched_at: float,
                 cost_usd: Decimal | None = None, keep_result: bool = True) -> None:
        """Store the result, and the billed cost where the provider reported usage.

        The first delivery wins; a duplicate delivery changes nothing. `keep_result=False`
        records the job (done, billed, timings) without its payload, which is then not reusable.
        """
        t = result.timings
        self._write(
            "UPDATE jobs SET status = ?, billed = 1, result = ?, accepted_at = COALESCE(?, "
            "accepted_at), running_at = ?, finished_at = ?, fetched_at = ?, "
            "cost_usd = COALESCE(?, cost_usd) WHERE token = ? AND status != ?",
            (DONE, encode_result(result) if keep_result else None, t.accepted_at, t.running_at, t.finished_at, fetched_at,
             None if cost_usd is None else str(cost_usd), token, DONE))

    def failed(self, token: str, error: str, *, billed: bool, status: str = FAILED) -> None:
        """A submission or job that ended without a result; `billed` says whether it cost.

        Only a row still in flight changes: a settled one keeps its first outcome.
        """
        self._write("UPDATE jobs SET status = ?, billed = ?, error = ? WHERE token = ? "
                    "AND status IN (?, ?)", (status, int(billed), error[:2000], token, *IN_FLIGHT))

    # reads --------------------------------------------------------------------------------------

    def find_result(self, request_hash: str, provider: str | None = None) -> SamplingResult | None:
        """A stored result for this request hash, or None."""
        sql = "SELECT result FROM jobs WHERE request_hash = ? AND status = ? AND result IS NOT NULL"
        args: tuple = (request_hash, DONE)
        if provider is not None:
            sql, args = sql + " AND provider = ?", (*args, provider)
        row = self._one(sql + " ORDER BY finished_at LIMIT 1", args)
        return None if row is None else decode_result(row[0])

    def in_flight(self, provider: str | None = None,
                  request_hash: str | None = None) -> list[LedgerEntry]:
        """Submissions that were sent (or being sent) and have no result yet."""
        sql = f"SELECT {ENTRY_COLUMNS} FROM jobs WHERE status IN (?, ?)"
        args: tuple = IN_FLIGHT
        for column, value in (("provider", provider), ("request_hash", request_hash)):
            if value is not None:
                sql, args = sql + f" AND {column} = ?", (*args, value)
        return [_entry(row) for row in self._all(sql + " ORDER BY rowid", args)]

    def entries(self) -> list[LedgerEntry]:
        return [_entry(r) for r in self._all(f"SELECT {ENTRY_COLUMNS} FROM jobs ORDER BY rowid")]

    def entry(self, token: str) -> LedgerEntry | None:
        row = self._one(f"SELECT {ENTRY_COLUMNS} FROM jobs WHERE token = ?", (token,))
        return None if row is None else _entry(row)

    def providers(self) -> list[str]:
        """Provider names with at least one row, in name order."""
        return [r[0] for r in self._all("SELECT DISTINCT provider FROM jobs ORDER BY provider")]

    def latency_stats(self, provider: str | None = None) -> LatencyStats:
        """p50 / p95 / p99 of queue, execution and round-trip seconds of finished jobs."""
        sql = ("SELECT running_at - COALESCE(accepted_at, submit_called_at), "
               "finished_at - running_at, fetched_at - submit_called_at FROM jobs WHERE status = ?")
        rows = self._all(*_by_provider(sql, (DONE,), provider))
        columns = [[max(0.0, r[i]) for r in rows if r[i] is not None] for i in range(3)]
        return LatencyStats(len(rows), *(Percentiles.of(c) for c in columns))

    def spent(self, provider: str | None = None) -> BudgetState:
        """What settled jobs cost (in-flight ones excluded: `Dispatcher.resume` re-reserves them).

        Seed a restarted run's budget with it: `Budget(shots=..., spent=ledger.spent())`.
        """
        rows = self._all(*_by_provider(
            "SELECT shots, cost_usd FROM jobs WHERE billed = 1 AND status NOT IN (?, ?)",
            IN_FLIGHT, provider))
        return BudgetState(sum(r[0] for r in rows),
                           sum((Decimal(r[1]) for r in rows), Decimal(0)), len(rows))

    def totals(self, provider: str | None = None) -> LedgerTotals:
        """Paid jobs and what they carried; `resubmitted` counts extra paid jobs per request."""
        rows = self._all(*_by_provider(
            "SELECT request_hash, circuits, shots, cost_usd, status, provider FROM jobs "
            "WHERE billed = 1", (), provider))
        hashes = {(r[5], r[0]) for r in rows}  # the same request on two providers is no resend
        flying = len(self.in_flight(provider))
        return LedgerTotals(
            jobs=len(rows), circuits=sum(r[1] for r in rows), shots=sum(r[2] for r in rows),
            cost_usd=sum((Decimal(r[3]) for r in rows), Decimal(0)),
            resubmitted=len(rows) - len(hashes), done=sum(r[4] == DONE for r in rows),
            in_flight=flying)

    # plumbing -----------------------------------------------------------------------------------

    def _write(self, sql: str, args: tuple) -> None:
        with self._lock:
            self._db.execute(sql, args)

    def _one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()


ENTRY_COLUMNS = ("token, id, provider, device, request_hash, circuits, shots, attempts, status, "
                 "billed, cost_usd, submit_called_at")


def _entry(row: tuple) -> LedgerEntry:
    *head, billed, cost, called = row
    return LedgerEntry(*head, billed=bool(billed), cost_usd=Decimal(cost), submit_called_at=called)


def _by_provider(sql: str, args: tuple, provider: str | None) -> tuple[str, tuple]:
    if provider is None:
        return sql, args
    joiner = " AND" if " WHERE " in sql else " WHERE"
    return f"{sql}{joiner} provider = ?", (*args, provider)
