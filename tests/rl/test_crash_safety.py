"""Crash safety of training runs: the journal, atomic checkpoints, adopting the job in flight,
and a real SIGKILL before the first checkpoint, resumed to the end."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from qhil.cli import main
from qhil.execution.ledger import Ledger
from qhil.execution.registry import get_provider
from qhil.rl.buffers import PairBuffer, ReplayBuffer
from qhil.rl.checkpoints import CheckpointStore
from qhil.rl.config import dump_toml
from qhil.rl.journal import Journal, Layout
from qhil.rl.loop import snapshot_actor
from qhil.rl.run import Session, open_run_dispatcher
from qhil.rl.rundir import RunFolder
from tests.rl.conftest import tiny_config

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = Layout(obs=3, actions=1, q_in=4, q_out=2)


def step_rows(rng: np.random.Generator, batch: int = 2) -> dict[str, np.ndarray]:
    return {"obs": rng.normal(size=(batch, 3)), "actions": rng.normal(size=(batch, 1)),
            "rewards": rng.normal(size=batch), "next_obs": rng.normal(size=(batch, 3)),
            "dones": np.array([False, True][:batch]), "q_in": rng.normal(size=(batch, 4)),
            "q_out": rng.uniform(size=(batch, 2))}


def test_journal_rebuilds_the_buffers_and_knows_the_pending_job(tmp_path, rng):
    journal = Journal(tmp_path / "t.sqlite", LAYOUT)
    steps = [step_rows(rng) for _ in range(5)]
    for i, rows in enumerate(steps):
        journal.intend(i, rows["q_in"])
        journal.append(i, rows, [(2 * i + 2, -1.5, 7)] if i == 3 else [])
    assert journal.pending() is None  # every intended job's step is stored
    journal.intend(5, steps[0]["q_in"])
    np.testing.assert_array_equal(journal.pending(), steps[0]["q_in"].astype(np.float32))
    replay, pairs = ReplayBuffer(100, 3, 1, 4, 2), PairBuffer(4, 4, 2)
    assert journal.replay_into(replay, pairs, with_pairs=True) == 10
    np.testing.assert_array_equal(replay.arrays["obs"][:10],
                                  np.concatenate([s["obs"] for s in steps]).astype(np.float32))
    assert replay.size == 10 and pairs.size == 4  # the qtDNN ring keeps its newest 4
    np.testing.assert_array_equal(pairs.arrays["q_out"][2:4], steps[4]["q_out"].astype(np.float32))
    assert journal.episodes() == [(8, -1.5, 7)]
    journal.close()


def test_corrupt_newest_checkpoint_falls_back_with_one_warning(tmp_path):
    warnings: list[str] = []
    store = CheckpointStore(tmp_path / "checkpoints", warn=warnings.append)
    assert store.load() is None and not store.exists()
    store.save({"step": 100}, 100)
    newest = store.save({"step": 200}, 200)
    (tmp_path / "checkpoints" / ".tmp-dead").mkdir()  # a write a kill interrupted
    state = newest / "state.pt"
    state.write_bytes(state.read_bytes()[:10])  # truncated
    assert store.load() == {"step": 100}
    assert len(warnings) == 1 and "step-000000200" in warnings[0] and "step-000000100" in warnings[0]
    store.save({"step": 300}, 300)
    assert not list((tmp_path / "checkpoints").glob(".tmp-*")) and store.load() == {"step": 300}


def test_a_job_sent_before_the_kill_is_adopted_not_bought_again(tmp_path):
    config = tiny_config(steps=40).with_overrides(**{"td3.learning_starts": 1000})
    folder = RunFolder(tmp_path / "run")
    folder.create(config)
    with get_provider("local") as provider:
        dispatcher = open_run_dispatcher(folder, provider, None)
        s = Session(config, folder, dispatcher)
        for _ in range(3):
            s.explorer.step()
        # the killed process had sent step 3's job and stored its result, not the step
        controls = np.random.default_rng(1).uniform(-1, 1, (2, s.ansatz.control_dim))
        s.journal.intend(3, controls)
        s.sampler.sample(controls.astype(np.float32))
        bought = dispatcher.ledger.totals().jobs
        s.journal.close()
        again = Session(config, folder, dispatcher)
        again.restore()
        assert (again.explorer.vsteps, again.replay.size, again.explorer.adopt is not None) == (3, 6, True)
        again.explorer.step()
        assert dispatcher.ledger.totals().jobs == bought and dispatcher.counters["reused"] == 1
        np.testing.assert_array_equal(again.journal.rows()["q_in"][-2:],
                                      controls.astype(np.float32))
        again.journal.close()
        dispatcher.ledger.close()


def journal_steps(path: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


def test_sigkill_before_the_first_checkpoint_resumes_to_the_end(tmp_path, capsys):
    config = tiny_config().with_overrides(**{"loop.checkpoint_every_steps": 100_000})
    path = tmp_path / "tiny.toml"
    path.write_text(dump_toml(config))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "qhil", "train", "--config", str(path),
                             "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while journal_steps(out / "transitions.sqlite") < 40 and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not RunFolder(out).has_checkpoint()
    with pytest.raises(SystemExit) as exc:  # the journal's steps are the run's progress
        main(["train", "--resume", str(out), "--steps", "10"])
    assert exc.value.code == 2 and "lower than the" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "--resume", str(out), "--json"])
    assert exc.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 240 and journal_steps(out / "transitions.sqlite") == 120
    with Ledger(out / "ledger.sqlite") as ledger:
        totals = ledger.totals()
    assert totals.resubmitted == 0 and totals.in_flight == 0
    assert summary["hw"]["jobs"] == totals.jobs == 120 + 200  # 120 vector steps, 2 x 200 eval


def test_an_interrupted_evaluation_runs_again_from_its_actor_and_buys_nothing(tmp_path):
    config = tiny_config(steps=200).with_overrides(**{"eval.every_steps": 100})
    folder = RunFolder(tmp_path / "run")
    folder.create(config)
    with get_provider("local") as provider:
        dispatcher = open_run_dispatcher(folder, provider, None)
        s = Session(config, folder, dispatcher)
        s.explorer.transitions = 100
        s.evaluate_in_background()
        s.evaluations.join()
        bought = dispatcher.ledger.totals().jobs
        assert bought == 200  # 2 episodes side by side, 200 steps
        # as if killed before its returns were stored; the learner has moved on meanwhile
        s.journal._write("UPDATE evals SET returns = NULL", ())
        with torch.no_grad():
            for p in s.td3.actor.parameters():
                p.add_(1.0)
        s.evaluations.reopen(100, lambda: snapshot_actor(s.td3.actor))
        s.evaluations.join()
        assert dispatcher.ledger.totals().jobs == bought and dispatcher.counters["reused"] == 200
        assert s.journal.open_evals() == [] and s.journal.eval_names() == ["step-100"]
        s.journal.close()
        dispatcher.ledger.close()


def test_a_journal_killed_before_its_schema_holds_nothing_and_a_broken_one_is_refused(tmp_path):
    from qhil.errors import ConfigError
    from qhil.rl.journal import stored_transitions

    path = tmp_path / "transitions.sqlite"
    path.touch()  # sqlite3.connect made the file; the kill came before CREATE TABLE
    assert stored_transitions(path, 2) == 0
    sqlite3.connect(path).execute("CREATE TABLE meta (key TEXT)").connection.close()
    with pytest.raises(ConfigError, match="damaged"):
        stored_transitions(path, 2)
