"""Ledger schema 2: compact rows, the status enum, the schema version, migration of schema 1."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from qhil.errors import ConfigError
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import DONE, SCHEMA_VERSION, Ledger, LedgerStatus
from qhil.execution.registry import get_provider
from qhil.execution.resultcodec import decode_payload, encode_payload, encode_result
from qhil.quantum.ansatz import HDQNNAnsatz
from tests.execution.test_ledger import result

# the schema qhil wrote before schema versions (kept here verbatim, to build old files)
SCHEMA_V1 = """
CREATE TABLE jobs (token TEXT PRIMARY KEY, id TEXT, provider TEXT NOT NULL, device TEXT NOT NULL,
    request_hash TEXT NOT NULL, circuits INTEGER NOT NULL, shots INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, billed INTEGER NOT NULL DEFAULT 0,
    cost_usd TEXT NOT NULL, submit_called_at REAL, accepted_at REAL, queued_at REAL,
    running_at REAL, finished_at REAL, fetched_at REAL, error TEXT, result BLOB);
CREATE INDEX jobs_by_hash ON jobs (request_hash, status);
CREATE INDEX jobs_by_id ON jobs (id);
"""


def v1_ledger(path, rows: int = 3) -> list[str]:
    """A schema-1 file: `rows` DONE jobs with results and one still in flight."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_V1)
    hashes = []
    for i in range(rows):
        digest = uuid.uuid4().hex * 2
        blob = encode_result(result(f"job-{i}", 100.0 + i, 1.0, 2.0))
        db.execute("INSERT INTO jobs VALUES (?, ?, 'p', 'dev', ?, 2, 8, 1, 'DONE', 1, '0.31', "
                   "?, ?, ?, ?, ?, ?, NULL, ?)",
                   (uuid.uuid4().hex, f"job-{i}", digest, 100.0 + i, 100.0 + i, 100.0 + i,
                    101.0 + i, 103.0 + i, 103.5 + i, blob))
        hashes.append(digest)
    db.execute("INSERT INTO jobs (token, id, provider, device, request_hash, circuits, shots, "
               "status, billed, cost_usd, submit_called_at) VALUES ('tok', 'job-x', 'p', 'dev', "
               "'hx', 2, 8, 'SUBMITTED', 1, '0.31', 200.0)")
    db.commit()
    db.close()
    return hashes


def test_schema_1_ledger_is_migrated_and_reads_the_same(tmp_path):
    path = tmp_path / "ledger.sqlite"
    hashes = v1_ledger(path)
    with Ledger(path) as ledger:
        assert ledger.schema_version == SCHEMA_VERSION
        stored = ledger.find_result(hashes[1], "p")
        totals = ledger.totals()
        flying = ledger.in_flight("p")
        lat = ledger.latency_stats()
    assert stored.job_id == "job-1" and stored.counts == [{"01": 2, "11": 2}, {"10": 4}]
    np.testing.assert_array_equal(stored.marginals, [[0.25, 0.5], [1.0, 0.0]])
    assert stored.timings.running_at == 102.0 and stored.usage == {"qpu_s": 0.5}
    assert (totals.jobs, totals.done, totals.shots, totals.cost_usd) == (4, 3, 32, Decimal("1.24"))
    assert [e.token for e in flying] == ["tok"] and flying[0].status is LedgerStatus.SUBMITTED
    assert lat.round_trip_s.p50 == pytest.approx(3.5)
    with Ledger(path) as ledger:  # opening again changes nothing
        assert ledger.totals() == totals


def test_a_newer_schema_is_refused_with_a_message(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="schema 99, newer than this qhil reads"):
        Ledger(path)


def test_statuses_are_an_enum_stored_as_codes(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.begin("t1", provider="p", device="d", request_hash="h1", circuits=1, shots=1,
                     cost_usd=Decimal(0), submit_called_at=1.0)
        ledger.finished("t1", result("j", 1.0, 0.5, 0.5), fetched_at=2.0)
        assert ledger.entry("t1").status is DONE and DONE == "DONE"
    assert [s.code for s in LedgerStatus] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("batch, shots, counts", [(1, 100, True), (3, 16, True), (2, 100, False),
                                                  (2, None, False)])
def test_compact_payload_is_lossless(batch, shots, counts):
    ansatz = HDQNNAnsatz(4, 2)
    controls = np.random.default_rng(batch).uniform(-1, 1, (batch, ansatz.control_dim))
    with get_provider("local") as provider:
        request = ansatz.request(controls, shots, seed=5)
        res = provider.submit(request if counts else replace(request, counts=False)).result()
    marginals, back_counts, usage = decode_payload(encode_payload(res), shots)
    assert np.array_equal(marginals, res.marginals) and back_counts == res.counts
    assert len(encode_payload(res)) < len(encode_result(res)) / 5


def test_a_pendulum_sized_job_costs_under_300_bytes(tmp_path):
    """One 4-qubit, 2-layer circuit of 100 shots per job (configs/pendulum-pqc.toml)."""
    ansatz = HDQNNAnsatz(4, 2)
    rng = np.random.default_rng(0)
    with get_provider("local") as provider, Ledger(tmp_path / "l.sqlite") as ledger:
        dispatcher = Dispatcher(provider, ledger=ledger)
        sizes = []
        for i in range(900):
            dispatcher.run(ansatz.request(rng.uniform(-3, 3, (1, ansatz.control_dim)), 100, seed=i))
            if i + 1 in (300, 900):
                sizes.append(ledger.bytes_per_job() * (i + 1))
    assert (sizes[1] - sizes[0]) / 600 <= 300  # what one more job costs, pages included


@pytest.mark.parametrize("seed", range(4))
def test_a_few_counts_encode_to_the_bytes_numpy_gives(seed, monkeypatch):
    """Small payloads are built in plain Python (resultcodec.FEW_KEYS); the bytes are the ones
    the numpy path writes, for counts that agree with the marginals exactly, after float32
    rounding, or not at all, with and without shots and usage."""
    from qhil.execution import resultcodec

    rng = np.random.default_rng(seed)
    for trial in range(60):
        batch, width = int(rng.integers(1, 4)), int(rng.integers(1, 7))
        shots = int(rng.integers(1, 40))
        counts = [dict(zip((format(int(k), f"0{width}b") for k in sorted(set(row))),
                           (int(c) for c in np.unique(row, return_counts=True)[1]), strict=True))
                  for row in rng.integers(0, 2 ** width, (batch, shots))]
        if trial % 7 == 0:
            counts[0] = {}
        marginals = np.array([[sum(v for k, v in c.items() if k[j] == "1") / shots
                               for j in range(width)] for c in counts])
        marginals = [marginals, marginals.astype(np.float32).astype(np.float64),
                     marginals + 1e-9][trial % 3]
        res = result("j", 1.0, 0.5, 0.5)
        res = replace(res, marginals=marginals, counts=counts, shots=shots if trial % 4 else None,
                      usage={"qpu_s": 1.5} if trial % 5 == 0 else {})
        few = encode_payload(res)
        monkeypatch.setattr(resultcodec, "FEW_KEYS", -1)
        assert encode_payload(res) == few
        monkeypatch.undo()
