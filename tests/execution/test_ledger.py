"""The ledger: a real SQLite file; ids before waits, results stored durably, statistics."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import numpy as np
import pytest

from qhil.execution.job import JobTimings, SamplingResult
from qhil.execution.ledger import DONE, FAILED, SUBMITTED, SUBMITTING, Ledger


def result(job_id: str, t0: float, queue_s: float, exec_s: float) -> SamplingResult:
    timings = JobTimings(submitted_at=t0, accepted_at=t0, running_at=t0 + queue_s,
                         finished_at=t0 + queue_s + exec_s, fetched_at=t0 + queue_s + exec_s)
    return SamplingResult(marginals=np.array([[0.25, 0.5], [1.0, 0.0]]), shots=4,
                          counts=[{"01": 2, "11": 2}, {"10": 4}], job_id=job_id, provider="p",
                          timings=timings, usage={"qpu_s": 0.5})


def add(ledger: Ledger, token: str, digest: str, t0: float = 100.0, provider: str = "p") -> None:
    ledger.begin(token, provider=provider, device="dev", request_hash=digest, circuits=2, shots=8,
                 cost_usd=Decimal("0.31"), submit_called_at=t0)


def test_lifecycle_survives_reopening(tmp_path):
    path = tmp_path / "run" / "ledger.sqlite"
    with Ledger(path) as ledger:
        add(ledger, "t1", "h1")
        assert ledger.entry("t1").status == SUBMITTING
        ledger.attempt("t1", 2)
        ledger.submitted("t1", "job-1", accepted_at=100.5)
        assert [e.job_id for e in ledger.in_flight("p")] == ["job-1"]
    with Ledger(path) as ledger:  # a new process would see the same
        entry = ledger.entry("t1")
        assert (entry.status, entry.attempts, entry.billed) == (SUBMITTED, 2, True)
        ledger.finished("t1", result("job-1", 100.0, 1.0, 2.0), fetched_at=104.0)
        stored = ledger.find_result("h1", "p")
    assert stored.job_id == "job-1" and stored.counts[0] == {"01": 2, "11": 2}
    np.testing.assert_array_equal(stored.marginals, [[0.25, 0.5], [1.0, 0.0]])
    assert stored.usage == {"qpu_s": 0.5} and stored.timings.running_at == 101.0


def test_wal_mode_and_plain_sqlite_readable(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        add(ledger, "t1", "h1")
        ledger.submitted("t1", "job-1")
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = db.execute("SELECT jobs.id, provider, device, request_hash, circuits, shots, "
                         "status, cost_usd FROM jobs JOIN targets ON targets.id = jobs.target"
                         ).fetchone()
        assert row == ("job-1", "p", "dev", "h1", 2, 8, SUBMITTED.code, "0.31")
        assert db.execute("SELECT value FROM meta").fetchone() == ("2",)
        db.close()


def test_a_fresh_ledger_opens_while_another_process_holds_its_write_lock(tmp_path):
    """SQLite refuses the WAL switch at once (no busy wait) while another connection writes."""
    path = tmp_path / "ledger.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite3.connect(path, isolation_level=None, timeout=5).execute("PRAGMA journal_mode=WAL")
    threading.Timer(0.3, other.execute, ("COMMIT",)).start()
    with Ledger(path) as ledger:
        assert ledger.entries() == [] and ledger._one("PRAGMA journal_mode")[0] == "wal"
    other.close()


def test_duplicate_delivery_keeps_the_first_result(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        add(ledger, "t1", "h1")
        ledger.submitted("t1", "job-1")
        ledger.finished("t1", result("job-1", 0.0, 1.0, 1.0), fetched_at=3.0)
        ledger.finished("t1", result("job-1", 50.0, 9.0, 9.0), fetched_at=99.0)
        ledger.failed("t1", "late error", billed=False)
        entry = ledger.entry("t1")
        assert entry.status == DONE and entry.billed
        # schema 2 keeps the first delivery's milestones (submitted_at is qhil's submit call)
        assert ledger.find_result("h1").timings.running_at == 1.0


def test_totals_count_paid_jobs_and_resubmissions(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        for token, digest in [("a", "h1"), ("b", "h2"), ("c", "h2"), ("d", "h3")]:
            add(ledger, token, digest)
        for token in "abc":
            ledger.submitted(token, f"job-{token}")
        ledger.failed("d", "throttled", billed=False)
        ledger.finished("a", result("job-a", 0, 1, 1), fetched_at=3)
        totals = ledger.totals()
        assert (totals.jobs, totals.circuits, totals.shots) == (3, 6, 24)
        assert totals.cost_usd == Decimal("0.93") and totals.resubmitted == 1
        assert (totals.done, totals.in_flight) == (1, 2)
        assert ledger.entry("d").status == FAILED and not ledger.entry("d").billed


def test_latency_percentiles_per_provider(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        for i in range(101):
            provider = "p" if i < 100 else "q"
            add(ledger, f"t{i}", f"h{i}", t0=1000.0 * i, provider=provider)
            ledger.submitted(f"t{i}", f"job{i}")
            ledger.finished(f"t{i}", result(f"job{i}", 1000.0 * i, float(i), 2.0),
                            fetched_at=1000.0 * i + i + 3.0)
        stats = ledger.latency_stats("p")
        assert stats.jobs == 100 and stats.queue_s.count == 100
        assert stats.queue_s.p50 == np.percentile(np.arange(100.0), 50)
        assert stats.queue_s.p99 == np.percentile(np.arange(100.0), 99)
        assert stats.execution_s.p95 == 2.0
        assert stats.round_trip_s.p50 == np.percentile(np.arange(100.0) + 3, 50)
        assert ledger.latency_stats("q").jobs == 1 and ledger.latency_stats().jobs == 101
        assert ledger.latency_stats("nobody").queue_s.p50 is None


def test_known_answers_find_result_and_in_flight_in_one_read(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        for token, t0, fetch_s in (("late", 100.0, 9.0), ("early", 100.0, 1.0)):
            add(ledger, token, "h1", t0)
            ledger.submitted(token, f"job-{token}", t0)
            ledger.finished(token, result(f"job-{token}", t0, 0.5, fetch_s), fetched_at=t0 + 10)
        for token in ("fly-1", "fly-2"):
            add(ledger, token, "h1")
        add(ledger, "other", "h1", provider="q")
        ledger.submitted("fly-2", "job-fly-2", 101.0)
        stored, flying = ledger.known("h1", "p")
        assert stored.job_id == ledger.find_result("h1", "p").job_id == "job-early"
        assert flying == ledger.in_flight("p", "h1") and [e.token for e in flying] == [
            "fly-1", "fly-2"]
        assert ledger.known("h1", "p", results=False) == (None, flying)
        assert ledger.known("h2", "p") == (None, [])
