"""`qhil sweep` on a local Ray cluster: 2 blocks x 2 seeds of a tiny Pendulum config (2 x 3 is
the issue's target; this 2-core machine is shared, so 2 x 2), the driver SIGKILLed while a pqc
trial trains and `--resume`d: every run folder, the table and the curves; no finished trial
trained again; no job bought twice. And a sweep no trial of which could ever be scheduled."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.sweep.conftest import run_cli

pytest.importorskip("ray.tune")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KILLED_STEPS = 1200  # long enough that the kill lands while pqc seed 1 trains, on an idle machine too
PQC_JOBS = KILLED_STEPS + 200  # one job per exploration step, then one 200-step final episode


def sweep(argv: list[str], tmp: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": tmp, "QHIL_QUIET": "1"}
    return subprocess.Popen([sys.executable, "-m", "qhil", "sweep", *argv], env=env, cwd=ROOT,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for(predicate, timeout_s: float, proc: subprocess.Popen) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.5)


def kill_group(proc: subprocess.Popen) -> None:
    """The driver and everything it started (its process group: the local Ray cluster and the
    trial workers) at once, with SIGKILL: the whole cluster dies mid-trial."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def training(run: Path) -> bool:
    metrics = run / "metrics.jsonl"
    return metrics.is_file() and metrics.stat().st_size > 0 and not (run / "summary.json").exists()


def fingerprint(run: Path) -> tuple:
    return tuple((run / f).stat().st_mtime_ns for f in ("summary.json", "metrics.jsonl", "ledger.sqlite"))


def ledger_jobs(run: Path) -> tuple[int, int]:
    """(jobs that ran, distinct requests among them): a local job in flight when the driver was
    killed does not survive it, so the ledger marks it LOST (never billed) and the resumed trial
    runs that request again; nothing that ran is run, or bought, twice."""
    from qhil.execution.ledger import LOST

    with sqlite3.connect(run / "ledger.sqlite") as db:
        return db.execute("SELECT COUNT(*), COUNT(DISTINCT request_hash) FROM jobs "
                          "WHERE status != ?", (LOST.code,)).fetchone()


def test_sweep_killed_midway_resumes_without_rerunning(tiny_config, tmp_path, short_tmp):
    out = tmp_path / "sweeps" / "tiny"
    config = tiny_config()
    config.write_text(config.read_text().replace("steps = 300", f"steps = {KILLED_STEPS}"))
    argv = ["--config", str(config), "--grid", "block=pqc,fc", "--seeds", "0-1",
            "--cpus-per-trial", "0.5", "--max-concurrent", "1", "--out", str(out)]
    first = sweep(argv, short_tmp)
    try:  # grid order: pqc 0, fc 0, pqc 1, fc 1; kill while pqc 1 trains
        wait_for(lambda: training(out / "runs" / "block=pqc_seed=1"), 400, first)
    finally:
        kill_group(first)
    done = {p.name: fingerprint(p) for p in (out / "runs").glob("*") if (p / "summary.json").exists()}
    assert set(done) == {"block=pqc_seed=0", "block=fc_seed=0"}

    again = sweep(["--resume", str(out)], short_tmp)
    try:
        text = again.communicate(timeout=500)[0]
    finally:
        kill_group(again)
    assert again.returncode == 0, text[-3000:]
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["block=fc_seed=0", "block=fc_seed=1", "block=pqc_seed=0", "block=pqc_seed=1"]
    assert {name: fingerprint(out / "runs" / name) for name in done} == done  # not run again
    for seed in (0, 1):  # the interrupted trial too: nothing bought twice, nothing missing
        assert ledger_jobs(out / "runs" / f"block=pqc_seed={seed}") == (PQC_JOBS, PQC_JOBS)
    report = json.loads((out / "report.json").read_text())
    assert [(c["values"], c["seeds"]) for c in report["cells"]] == [
        ({"block": "fc"}, [0, 1]), ({"block": "pqc"}, [0, 1])]
    assert report["cells"][1]["metrics"]["hw_jobs"] == {
        "mean": PQC_JOBS, "ci95_low": PQC_JOBS, "ci95_high": PQC_JOBS, "seeds": 2}
    assert "## eval_return_mean" in (out / "report.md").read_text()
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "<img" in (out / "report.html").read_text()


def test_a_trial_no_node_could_hold_is_refused(tiny_config, tmp_path, capsys, monkeypatch, short_tmp):
    monkeypatch.setenv("TMPDIR", short_tmp)
    monkeypatch.setattr(tempfile, "tempdir", None)
    out = tmp_path / "s"
    code = run_cli(["sweep", "--config", str(tiny_config()), "--cpus-per-trial", "512",
                    "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "no trial could ever start" in err[-1], err
    assert not out.exists()
