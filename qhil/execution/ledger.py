"""The latency ledger and crash-safe result store: one SQLite file (WAL) in the run folder.

    ledger = Ledger(run_dir / "ledger.sqlite")
    ledger.begin(...)                 a row per submission, written BEFORE the provider is called
    ledger.submitted(token, job_id)   the job id, written BEFORE anyone waits on the job
    ledger.finished(token, result)    the result, written BEFORE it is returned to the caller
    ledger.failed(token, error, billed)
    ledger.find_result(request_hash, provider) -> SamplingResult | None    reuse after a restart
    ledger.in_flight(provider) -> list[LedgerEntry]                        re-attach after a restart
    ledger.known(request_hash, provider) -> (result | None, in-flight entries)   both, one read
    ledger.forget_results(request_hashes)   drop payloads nobody will ask for again (rows stay)
    ledger.latency_stats(provider) -> JobLatencies   p50/p95/p99 of queue, execution, round trip
    ledger.totals(provider) -> LedgerTotals          jobs, circuits, shots, dollars, resubmitted
    ledger.spent(provider) -> BudgetState            settled spending, to seed a resumed Budget

Rows are keyed by qhil's client token (one per submission, also sent to the provider as the tag
`qhil_token`); `id` is the provider's job id. `shots` is the request's total (circuits x shots).
`status` (`LedgerStatus`): SUBMITTING (row written, provider being called), SUBMITTED (accepted:
id known, billed), DONE (result stored), FAILED, LOST (gone when a restarted process tried to
re-attach). `billed` says whether the job counts as bought; `cost_usd` is the estimate, replaced by
the billed cost where the provider reports usage. `queued_at` is when the service accepted the job.

Schema 2 (`SCHEMA_VERSION`, in the `meta` table) is compact: a job costs about 200 bytes at
Pendulum size (one 4-qubit circuit of 100 shots), so a 5 M-step run's ledger is about a gigabyte.
Tokens and request hashes are stored as raw bytes, provider and device once in `targets`, the
timestamps after the submission as integer microseconds from it, statuses as small integers and
the result as a compact payload (resultcodec.encode_payload: counts or ones-counts, no repeated
header). A schema-1 ledger (qhil before schema versions) is migrated in place, in one
transaction, when it is opened; a ledger of a newer schema is refused with a message.
Every write is its own committed transaction in WAL mode, so `kill -9` loses nothing written
(synchronous=NORMAL, about 1 ms a job). `durable=True` (or `make_durable()`, which the Dispatcher
calls for a provider that bills) adds an fsync per write (synchronous=FULL, about 20 ms a job
here), so that a power cut or OS crash loses nothing either.
"""

from __future__ import annotations

import enum
import sqlite3
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from qhil.errors import ConfigError
from qhil.execution.budget import BudgetState
from qhil.execution.job import JobTimings, SamplingResult
from qhil.execution.resultcodec import decode_payload, encode_payload
from qhil.execution.sqlite import LockedSqlite, key, unkey

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY, provider TEXT NOT NULL, device TEXT NOT NULL,
    UNIQUE (provider, device));
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY,
    token BLOB NOT NULL UNIQUE,
    id TEXT,
    target INTEGER NOT NULL REFERENCES targets (id),
    request_hash BLOB NOT NULL,
    circuits INTEGER NOT NULL,
    shots INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL,
    billed INTEGER NOT NULL DEFAULT 0,
    cost_usd TEXT NOT NULL,
    submit_called_at REAL,
    accepted_us INTEGER,
    queued_us INTEGER,
    running_us INTEGER,
    finished_us INTEGER,
    fetched_us INTEGER,
    error TEXT,
    result BLOB
);
CREATE INDEX IF NOT EXISTS jobs_by_hash ON jobs (request_hash);
"""

OPEN_TRIES = 20  # about 10 s of retries when concurrent openers race for the WAL switch


class LedgerStatus(str, enum.Enum):
    """A submission's state in the ledger; stored as its `code`."""

    SUBMITTING = "SUBMITTING"
    SUBMITTED = "SUBMITTED"
    DONE = "DONE"
    FAILED = "FAILED"
    LOST = "LOST"

    @property
    def code(self) -> int:
        return STATUS_CODES[self]

    @property
    def in_flight(self) -> bool:
        return self in IN_FLIGHT


STATUS_CODES = {status: i for i, status in enumerate(LedgerStatus)}
BY_CODE = dict(enumerate(LedgerStatus))
SUBMITTING, SUBMITTED, DONE, FAILED, LOST = LedgerStatus
IN_FLIGHT = (SUBMITTING, SUBMITTED)
FLYING = (SUBMITTING.code, SUBMITTED.code)


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
    status: LedgerStatus
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
class JobLatencies:
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


class Ledger(LockedSqlite):
    """A thread-safe handle on one ledger file."""

    def __init__(self, path: str | Path, durable: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connect(self.path)
        self._targets: dict[tuple[str, str], int] = {}
        self._prepare()
        if durable:
            self.make_durable()

    def _prepare(self) -> None:
        """WAL mode and the schema. Switching a new file to WAL needs it alone: the switch
        upgrades a read lock to a write lock, and SQLite answers "locked" at once, without the
        busy timeout, where another process holds the write lock (opening the same fresh
        ledger). qhil's own processes avoid it (qtrl's agent 0 creates the ledger before the
        others open it); for anyone else the switch is tried again for a few seconds."""
        for attempt in range(OPEN_TRIES):
            try:
                self._use_wal()
                self._ensure_schema()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == OPEN_TRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _ensure_schema(self) -> None:
        """Create schema 2, or migrate a schema-1 ledger, in one transaction; refuse newer."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(db)
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.path} is a ledger of schema {version}, newer than this qhil reads "
                    f"({SCHEMA_VERSION}); upgrade qhil to read it")
            if version < SCHEMA_VERSION:
                from qhil.execution.ledger_migrate import migrate

                migrate(db, version, SCHEMA)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def make_durable(self) -> None:
        """fsync every write from now on: survives power loss, not only a killed process."""
        self._write("PRAGMA synchronous=FULL", ())

    @property
    def durable(self) -> bool:
        return self._one("PRAGMA synchronous")[0] == 2

    @property
    def schema_version(self) -> int:
        with self._lock:
            return schema_version(self._db)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # writes -------------------------------------------------------------------------------------

    def begin(self, token: str, *, provider: str, device: str, request_hash: str, circuits: int,
              shots: int, cost_usd: Decimal, submit_called_at: float, attempts: int = 0) -> None:
        """Record a submission about to be sent (no job id yet); `attempts`: the attempt about
        to be made, where the caller counts it in this write rather than with `attempt`."""
        target = self._target(provider, device)
        self._write(
            "INSERT INTO jobs (token, target, request_hash, circuits, shots, attempts, status, "
            "cost_usd, submit_called_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key(token), target, key(request_hash), circuits, shots, attempts, SUBMITTING.code,
             str(cost_usd), submit_called_at))

    def attempt(self, token: str, attempts: int) -> None:
        self._write("UPDATE jobs SET attempts = ? WHERE token = ?", (attempts, key(token)))

    def submitted(self, token: str, job_id: str, accepted_at: float | None = None) -> None:
        """The provider accepted the job: from now on it is paid for and can be re-attached."""
        self._write(
            f"UPDATE jobs SET id = ?, status = ?, billed = 1, accepted_us = {US}, queued_us = {US} "
            "WHERE token = ? AND status IN (?, ?)",
            (job_id, SUBMITTED.code, accepted_at, accepted_at, key(token), *FLYING))

    def finished(self, token: str, result: SamplingResult, fetched_at: float,
                 cost_usd: Decimal | None = None, keep_result: bool = True) -> None:
        """Store the result, and the billed cost where the provider reported usage.

        The first delivery wins; a duplicate delivery changes nothing. `keep_result=False`
        records the job (done, billed, timings) without its payload, which is then not reusable.
        """
        t = result.timings
        self._write(
            f"UPDATE jobs SET status = ?, billed = 1, result = ?, accepted_us = COALESCE({US}, "
            f"accepted_us), running_us = {US}, finished_us = {US}, fetched_us = {US}, "
            "cost_usd = COALESCE(?, cost_usd) WHERE token = ? AND status != ?",
            (DONE.code, encode_payload(result) if keep_result else None, t.accepted_at,
             t.running_at, t.finished_at, fetched_at,
             None if cost_usd is None else str(cost_usd), key(token), DONE.code))

    def failed(self, token: str, error: str, *, billed: bool,
               status: LedgerStatus = FAILED) -> None:
        """A submission or job that ended without a result; `billed` says whether it cost.

        Only a row still in flight changes: a settled one keeps its first outcome.
        """
        self._write("UPDATE jobs SET status = ?, billed = ?, error = ? WHERE token = ? "
                    "AND status IN (?, ?)",
                    (LedgerStatus(status).code, int(billed), error[:2000], key(token), *FLYING))

    def forget_results(self, request_hashes: list[str]) -> None:
        """Drop the stored payloads of these requests (e.g. a learner's gradient jobs that no
        kept checkpoint can replay); the rows, their spending and timings stay."""
        for start in range(0, len(request_hashes), 500):
            part = [key(h) for h in request_hashes[start:start + 500]]
            self._write(f"UPDATE jobs SET result = NULL WHERE request_hash IN "
                        f"({','.join('?' * len(part))})", tuple(part))

    # reads --------------------------------------------------------------------------------------

    def find_result(self, request_hash: str, provider: str | None = None) -> SamplingResult | None:
        """A stored result for this request hash, or None."""
        sql = (f"SELECT {RESULT_COLUMNS} FROM jobs JOIN targets ON targets.id = jobs.target "
               "WHERE request_hash = ? AND status = ? AND result IS NOT NULL")
        args: tuple = (key(request_hash), DONE.code)
        if provider is not None:
            sql, args = sql + " AND provider = ?", (*args, provider)
        row = self._one(sql + " ORDER BY finished_us + submit_called_at LIMIT 1", args)
        return None if row is None else _result(row)

    def in_flight(self, provider: str | None = None,
                  request_hash: str | None = None) -> list[LedgerEntry]:
        """Submissions that were sent (or being sent) and have no result yet."""
        sql = f"SELECT {ENTRY_COLUMNS} FROM {JOINED} WHERE status IN (?, ?)"
        args: tuple = FLYING
        for column, value in (("provider", provider), ("request_hash", request_hash)):
            if value is not None:
                stored = key(value) if column == "request_hash" else value
                sql, args = sql + f" AND {column} = ?", (*args, stored)
        return [_entry(row) for row in self._all(sql + " ORDER BY seq", args)]

    def known(self, request_hash: str, provider: str,
              results: bool = True) -> tuple[SamplingResult | None, list[LedgerEntry]]:
        """`find_result` (unless `results` is False) and `in_flight` of one request on one
        provider, in one read: the Dispatcher asks both before every submission."""
        rows = self._all(KNOWN, (key(request_hash), provider, *FLYING, *[DONE.code] * 3))
        stored = _result(rows[0][12:]) if results and rows and rows[0][8] == DONE.code else None
        return stored, [_entry(row[:12]) for row in rows if row[8] != DONE.code]

    def entries(self) -> list[LedgerEntry]:
        return [_entry(r) for r in self._all(f"SELECT {ENTRY_COLUMNS} FROM {JOINED} ORDER BY seq")]

    def entry(self, token: str) -> LedgerEntry | None:
        row = self._one(f"SELECT {ENTRY_COLUMNS} FROM {JOINED} WHERE token = ?", (key(token),))
        return None if row is None else _entry(row)

    def providers(self) -> list[str]:
        """Provider names with at least one row, in name order."""
        return [r[0] for r in self._all(f"SELECT DISTINCT provider FROM {JOINED} ORDER BY provider")]

    def latency_stats(self, provider: str | None = None) -> JobLatencies:
        """p50 / p95 / p99 of queue, execution and round-trip seconds of finished jobs."""
        sql = (f"SELECT running_us - COALESCE(accepted_us, 0), finished_us - running_us, "
               f"fetched_us FROM {JOINED} WHERE status = ?")
        rows = self._all(*_by_provider(sql, (DONE.code,), provider))
        columns = [[max(0.0, r[i] / 1e6) for r in rows if r[i] is not None] for i in range(3)]
        return JobLatencies(len(rows), *(Percentiles.of(c) for c in columns))

    def job_times(self, provider: str | None = None) -> tuple[float | None, float | None]:
        """Sum of finished jobs' round trips, and first submission to last fetch (seconds)."""
        row = self._one(*_by_provider(
            f"SELECT SUM(fetched_us), MIN(submit_called_at), MAX(submit_called_at + "
            f"fetched_us / 1e6) FROM {JOINED} WHERE status = ?", (DONE.code,), provider))
        total, first, last = row
        span = None if first is None or last is None else last - first
        return None if total is None else total / 1e6, span

    def spent(self, provider: str | None = None) -> BudgetState:
        """What settled jobs cost (in-flight ones excluded: `Dispatcher.resume` re-reserves them).

        Seed a restarted run's budget with it: `Budget(shots=..., spent=ledger.spent())`.
        """
        rows = self._all(*_by_provider(
            f"SELECT shots, cost_usd FROM {JOINED} WHERE billed = 1 AND status NOT IN (?, ?)",
            FLYING, provider))
        return BudgetState(sum(r[0] for r in rows),
                           sum((Decimal(r[1]) for r in rows), Decimal(0)), len(rows))

    def totals(self, provider: str | None = None) -> LedgerTotals:
        """Paid jobs and what they carried; `resubmitted` counts extra paid jobs per request."""
        rows = self._all(*_by_provider(
            f"SELECT request_hash, circuits, shots, cost_usd, status, provider FROM {JOINED} "
            "WHERE billed = 1", (), provider))
        hashes = {(r[5], r[0]) for r in rows}  # the same request on two providers is no resend
        flying = len(self.in_flight(provider))
        return LedgerTotals(
            jobs=len(rows), circuits=sum(r[1] for r in rows), shots=sum(r[2] for r in rows),
            cost_usd=sum((Decimal(r[3]) for r in rows), Decimal(0)),
            resubmitted=len(rows) - len(hashes), done=sum(r[4] == DONE.code for r in rows),
            in_flight=flying)

    def bytes_per_job(self) -> float | None:
        """The file's size (with its WAL) over its rows: what one job costs on disk."""
        jobs = self._one("SELECT COUNT(*) FROM jobs")[0]
        self._write("PRAGMA wal_checkpoint(TRUNCATE)", ())
        size = self.path.stat().st_size
        return None if not jobs else size / jobs

    # plumbing -----------------------------------------------------------------------------------

    def _target(self, provider: str, device: str) -> int:
        cached = self._targets.get((provider, device))
        if cached is not None:
            return cached
        self._write("INSERT OR IGNORE INTO targets (provider, device) VALUES (?, ?)",
                    (provider, device))
        (target,) = self._one("SELECT id FROM targets WHERE provider = ? AND device = ?",
                              (provider, device))
        self._targets[(provider, device)] = target
        return target



JOINED = "jobs JOIN targets ON targets.id = jobs.target"
US = "CAST(ROUND((? - submit_called_at) * 1000000) AS INTEGER)"  # epoch s -> us after submit
ENTRY_COLUMNS = ("token, jobs.id, provider, device, request_hash, circuits, shots, attempts, "
                 "status, billed, cost_usd, submit_called_at")
RESULT_COLUMNS = ("jobs.id, provider, circuits, shots, submit_called_at, accepted_us, running_us, "
                  "finished_us, fetched_us, result")

KNOWN = (f"SELECT {ENTRY_COLUMNS}, {RESULT_COLUMNS} FROM {JOINED} WHERE request_hash = ? AND "
         "provider = ? AND (status IN (?, ?) OR (status = ? AND result IS NOT NULL)) ORDER BY "
         "status != ?, CASE WHEN status = ? THEN finished_us + submit_called_at END, seq")
# the best stored result first (find_result's order), then the rows in flight in seq order


def schema_version(db: sqlite3.Connection) -> int:
    """2 and up from the meta table; 1 for a ledger from before it; 0 for an empty file."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None:
            return int(row[0])
    return 1 if "jobs" in tables else 0



def _entry(row: tuple) -> LedgerEntry:
    token, job_id, provider, device, digest, circuits, shots, attempts, status, billed, cost, \
        called = row
    return LedgerEntry(unkey(token), job_id, provider, device, unkey(digest), circuits, shots,
                       attempts, BY_CODE[status], billed=bool(billed), cost_usd=Decimal(cost),
                       submit_called_at=called)


def _result(row: tuple) -> SamplingResult:
    job_id, provider, circuits, shots, called, *offsets, blob = row
    per_circuit = shots // circuits if shots else None
    marginals, counts, usage = decode_payload(blob, per_circuit)
    accepted, running, finished, fetched = (None if us is None else called + us / 1e6
                                            for us in offsets)
    timings = JobTimings(submitted_at=called, accepted_at=accepted, running_at=running,
                         finished_at=finished, fetched_at=fetched)
    return SamplingResult(marginals=marginals, shots=per_circuit, counts=counts,
                          job_id=job_id, provider=provider,
                          timings=timings, usage=usage)


def _by_provider(sql: str, args: tuple, provider: str | None) -> tuple[str, tuple]:
    if provider is None:
        return sql, args
    joiner = " AND" if " WHERE " in sql else " WHERE"
    return f"{sql}{joiner} provider = ?", (*args, provider)
