"""`qhil ledger --verify PATH`: a real ledger passes; each way of corrupting one (SQLite pages,
a result stored twice, a reservation left half settled, a summary that no longer matches the
rows) fails with exit 1 and says what is wrong; verifying changes nothing."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from qhil.cli import main
from qhil.execution.ledger import DONE, Ledger
from tests.commands.trained import train_run
from tests.test_cli import run_cli

SAMPLE = ("sample", "--qubits", "3", "--layers", "2", "--batch", "4", "--shots", "50")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    """A ledger of real jobs: the local simulator and the chaos service (lost and duplicated
    results, throttled submits), two seeds each."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    for provider in ("local", "chaos-faults"):
        for seed in ("1", "2"):
            with pytest.raises(SystemExit) as done:
                main([*SAMPLE, "--provider", provider, "--seed", seed, "--ledger", str(path),
                      "--yes"])
            assert done.value.code == 0
    return path


def copy(path: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(path, tmp_path / "ledger.sqlite"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def execute(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def test_a_real_ledger_passes_and_is_left_as_it_was(ledger, tmp_path, capsys):
    path = copy(ledger, tmp_path)
    before = digest(path)
    code, out, _ = run_cli(capsys, "ledger", "--verify", str(path))
    assert code == 0 and ": OK:" in out and " paid jobs (" in out
    assert len(out.strip().splitlines()) == 1
    assert digest(path) == before and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


DONE_ROW = f"(SELECT MIN(seq) FROM jobs WHERE status = {DONE.code})"
CORRUPTIONS = {
    "stored twice": (
        f"INSERT INTO jobs (token, id, target, request_hash, circuits, shots, status, billed, "
        f"cost_usd, result) SELECT X'{uuid.uuid4().hex}', id, target, request_hash, circuits, "
        f"shots, status, billed, cost_usd, result FROM jobs WHERE seq = {DONE_ROW}",
        ["results stored twice for one request", "job ids recorded in more than one row"]),
    "done without result": (f"UPDATE jobs SET result = NULL WHERE seq = {DONE_ROW}",
                            ["1 jobs marked done without a stored result"]),
    "unknown status": ("UPDATE jobs SET status = 9 WHERE seq = 1",
                       ["1 rows with a status or billed flag"]),
    "negative cost": ("UPDATE jobs SET cost_usd = '-0.5' WHERE seq = 1",
                      ["1 rows with an unreadable or negative cost"]),
    "accepted without id": (f"UPDATE jobs SET status = 1, id = NULL WHERE seq = {DONE_ROW}",
                            ["1 accepted jobs without a provider job id"]),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_corrupted_ledger_fails_and_says_what_is_wrong(ledger, tmp_path, capsys, name):
    path = copy(ledger, tmp_path)
    sql, fragments = CORRUPTIONS[name]
    execute(path, sql)
    code, out, _ = run_cli(capsys, "ledger", "--verify", str(path))
    assert code == 1 and ": FAILED:" in out and len(out.strip().splitlines()) == 1
    assert all(fragment in out for fragment in fragments), out


def test_damaged_pages_fail_the_integrity_check(ledger, tmp_path, capsys):
    path = copy(ledger, tmp_path)
    execute(path, "PRAGMA journal_mode=DELETE")  # everything in the main file, one page size
    page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * page
    data[2 * page + 8: 3 * page] = b"\xa5" * (page - 8)  # the third page, past its header
    path.write_bytes(bytes(data))
    code, out, _ = run_cli(capsys, "ledger", "--verify", str(path))
    assert code == 1 and ": FAILED:" in out and len(out.strip().splitlines()) == 1


def test_a_run_whose_ledger_gained_a_job_after_its_summary_fails(tmp_path, capsys):
    run = train_run(tmp_path)
    assert run_cli(capsys, "ledger", "--verify", str(run))[0] == 0
    token = uuid.uuid4().hex
    with Ledger(run / "ledger.sqlite") as book:
        entry = book.entries()[0]
        jobs = book.totals().jobs
        book.begin(token, provider=entry.provider, device=entry.device,
                   request_hash=hashlib.sha256(b"another request").hexdigest(), circuits=2,
                   shots=40, cost_usd=entry.cost_usd, submit_called_at=time.time())
        book.failed(token, "billed, then lost", billed=True)
    code, out, _ = run_cli(capsys, "ledger", "--verify", str(run))
    assert code == 1 and f"summary.json reports {jobs} jobs" in out
    assert f"the ledger's rows hold {jobs + 1}," in out


@pytest.mark.parametrize("content, fragment", [(None, "no such ledger"),
                                               (b"just text " * 50, "not an SQLite file")])
def test_a_missing_or_foreign_file_is_a_one_line_error(tmp_path, capsys, content, fragment):
    path = tmp_path / "ledger.sqlite"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run_cli(capsys, "ledger", "--verify", str(path))
    assert code == 2 and out == "" and fragment in err and len(err.strip().splitlines()) == 1
