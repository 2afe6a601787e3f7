"""Nothing bought twice after a kill, learner jobs included (issue 26, item 2).

The gradient methods that send jobs (parameter-shift, spsa, exact) record each update's minibatch
in the run's journal before its jobs and their request hashes after; a learner restored from a
checkpoint replays those updates (same rows, same random draws, same networks), so it asks the
ledger the same questions and buys nothing. On main the restored learner drew other minibatches
and bought its updates since the checkpoint again (other requests: the ledger's `resubmitted`
stayed 0, the job count did not).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from qhil.cli import main
from qhil.execution.ledger import Ledger
from qhil.execution.registry import get_provider
from qhil.rl.buffers import ReplayBuffer
from qhil.rl.config import dump_toml
from qhil.rl.journal import Journal, Layout
from qhil.rl.run import run_training as train
from qhil.rl.rundir import RunFolder
from tests.reference import spooled_profile
from tests.rl.conftest import tiny_config
from tests.rl.test_crash_safety import journal_steps

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = Layout(obs=3, actions=1, q_in=4, q_out=2)


def predicted_jobs(capsys, run: Path) -> int:
    """The jobs `qhil estimate --from-run` counts for the run as an uninterrupted one."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["estimate", "--from-run", str(run), "--json"])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    return json.loads(out)["predicted"]["jobs"]


def test_a_ring_names_its_rows_and_the_journal_reads_them_back(tmp_path):
    """Sampled slots of a wrapped ring map to the run's row numbers, which the journal returns."""
    rng = np.random.default_rng(0)
    replay = ReplayBuffer(7, 3, 1, 4, 2)
    journal = Journal(tmp_path / "t.sqlite", LAYOUT)
    for vstep in range(6):
        rows = {"obs": rng.normal(size=(2, 3)), "actions": rng.normal(size=(2, 1)),
                "rewards": rng.normal(size=2), "next_obs": rng.normal(size=(2, 3)),
                "dones": np.zeros(2), "q_in": rng.normal(size=(2, 4)), "q_out": rng.random((2, 2))}
        journal.append(vstep, rows, [])
        replay.add(**rows)
    drawn, numbers = replay.sample_indexed(20, np.random.default_rng(1))
    assert numbers.min() >= 12 - 7 and numbers.max() < 12  # the ring holds the newest 7 of 12
    again = journal.transitions_at(numbers)
    for key, value in drawn.items():
        np.testing.assert_array_equal(again[key], value)
    journal.record_update(3, numbers)
    journal.update_requests(3, ["ab" * 32])
    rows, sent = journal.recorded_update(3)
    assert rows.tolist() == numbers.tolist() and sent == ["ab" * 32]
    assert journal.forget_updates(3) == ["ab" * 32] and journal.recorded_update(3) is None
    journal.close()


@pytest.mark.parametrize("method", ["parameter-shift", "spsa", "exact"])
def test_a_learner_restored_from_an_old_checkpoint_replays_and_buys_nothing(method, tmp_path,
                                                                          capsys):
    """A finished run whose two newer checkpoints are gone resumes from the oldest one kept
    (step 150, update 50): the learner replays every update since from the journal; the ledger
    answers all of them. Records older than the oldest kept checkpoint were dropped."""
    config = tiny_config(steps=240).with_overrides(**{
        "quantum.gradient": method, "eval.episodes": 1, "loop.checkpoint_every_steps": 50})
    run = tmp_path / "run"
    with get_provider("local") as provider:
        train(config, RunFolder(run), provider)
        with Ledger(run / "ledger.sqlite") as ledger:
            bought = ledger.totals().jobs
        for folder in sorted((run / "checkpoints").glob("step-*"))[1:]:
            shutil.rmtree(folder)
        train(config, RunFolder(run), provider, resume=True)
    with Ledger(run / "ledger.sqlite") as ledger:
        totals = ledger.totals()
    assert (totals.jobs, totals.resubmitted) == (bought, 0)
    assert bought == predicted_jobs(capsys, run)
    first, count = sqlite3.connect(run / "transitions.sqlite").execute(
        "SELECT MIN(number), COUNT(*) FROM updates").fetchone()
    assert first > 1 and count == 71 - first  # 70 updates; the oldest kept checkpoint's first
    with pytest.raises(SystemExit) as info:  # the networks load without the learner's sampler
        main(["evaluate", str(run), "--episodes", "1"])
    assert info.value.code == 0


# real SIGKILLs ------------------------------------------------------------------------------------

STEPS = 400


def spawn(log: Path, *argv: str) -> subprocess.Popen:
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "qhil", "train", *argv], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.DEVNULL, stderr=out)


def kill_at(proc: subprocess.Popen, run: Path, vsteps: int, delay_s: float, log: Path) -> None:
    deadline = time.monotonic() + 300
    while journal_steps(run / "transitions.sqlite") < vsteps and time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before it could be killed: {log.read_text()}"
        time.sleep(0.01)
    time.sleep(delay_s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("method", ["parameter-shift", "spsa"])
def test_sigkills_during_a_gradient_run_buy_no_job_twice(method, tmp_path, capsys):
    """Three SIGKILLs at seeded steps after the first checkpoint (the learner mid-update, its
    jobs in flight on a service that keeps them); each resumed: the ledger holds as many paid
    jobs as an uninterrupted run makes, none twice, and the service ran each request once."""
    spooled_profile(tmp_path / "chaos.toml", tmp_path / "service", 0.002, 0.004)
    config = tiny_config(steps=STEPS).with_overrides(**{
        "provider": str(tmp_path / "chaos.toml"), "quantum.gradient": method,
        "eval.episodes": 1, "loop.checkpoint_every_steps": 100})
    (tmp_path / "train.toml").write_text(dump_toml(config))
    run, rng, log = tmp_path / "run", np.random.default_rng(26), tmp_path / "train.log"
    proc = spawn(log, "--config", str(tmp_path / "train.toml"), "--out", str(run))
    for vsteps in sorted(rng.integers(60, STEPS // 2 - 10, size=3)):
        kill_at(proc, run, int(vsteps), float(rng.uniform(0, 0.1)), log)
        proc = spawn(log, "--resume", str(run))
    assert proc.wait(timeout=600) == 0, log.read_text()
    from qhil.adapters.chaos_spool import JobSpool

    service = Counter(job.request_hash for job in JobSpool(tmp_path / "service").jobs())
    with Ledger(run / "ledger.sqlite") as ledger:
        totals = ledger.totals()
    assert totals.resubmitted == 0 and totals.in_flight == 0 and max(service.values()) == 1
    assert sum(service.values()) == totals.jobs == predicted_jobs(capsys, run)
