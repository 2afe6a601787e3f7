"""One writer per run folder (qhil/runlock.py), with real processes: a second `train --resume`
or `evaluate` of a folder a live run owns is refused in one line naming the owner's pid; the lock
a killed run leaves is taken over; a read-only or vanished folder is refused before anything is
read or bought, and nothing in it changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qhil.rl.journal import stored_transitions
from qhil.runlock import LOCK, claim
from tests.commands.conftest import tree_hashes
from tests.commands.trained import run_cli, tiny_toml, train_run

ROOT = Path(__file__).resolve().parents[2]


def qhil(*argv: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **popen.pop("env", {})}
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    return subprocess.Popen([sys.executable, "-m", "qhil", *argv], cwd=ROOT, env=env, text=True,
                            **popen)


def wait_for_owner(folder: Path, proc: subprocess.Popen) -> None:
    """Until `proc` holds the folder's lock (it fails the test if it exits first)."""
    while proc.poll() is None:
        lock = folder / LOCK
        if lock.is_file() and f"process {proc.pid} " in lock.read_text():
            return
        time.sleep(0.2)
    pytest.fail(f"the first run ended before it owned {folder}: {proc.stderr.read()}")


def test_a_second_writer_is_refused_and_a_killed_owners_lock_is_taken_over(tmp_path, capsys):
    run = tmp_path / "run"
    first = qhil("train", "--quiet", "--config", str(tiny_toml(tmp_path, steps=200_000)),
                 "--out", str(run), stdout=subprocess.DEVNULL)
    try:
        wait_for_owner(run, first)
        for argv in (["train", "--resume", str(run)], ["evaluate", str(run), "--episodes", "1"]):
            second = qhil(*argv)
            _, err = second.communicate(timeout=120)
            assert second.returncode == 2 and f"in use by process {first.pid} (qhil train)" in err
            assert len(err.strip().splitlines()) == 1
        while (stored_transitions(run / "transitions.sqlite", 2) or 0) < 120 and first.poll() is None:
            time.sleep(0.2)  # killed mid-run, past a checkpoint
    finally:
        first.kill()
        first.wait()
    assert f"process {first.pid} " in (run / LOCK).read_text()  # left behind by the killed owner
    done = stored_transitions(run / "transitions.sqlite", 2)
    code, _, err = run_cli(capsys, "train", "--resume", str(run), "--steps", str(done + 40))
    assert code == 0, err
    assert not (run / LOCK).exists()


def test_claims_nest_in_one_process_and_leave_no_file(tmp_path):
    with claim(tmp_path, "outer"):
        with claim(tmp_path / ".", "inner"):
            assert "(outer)" in (tmp_path / LOCK).read_text()
        assert (tmp_path / LOCK).exists()
    assert not (tmp_path / LOCK).exists()


def test_a_refusal_names_an_owner_that_writes_its_line_just_after_taking_the_lock(tmp_path):
    """The race of two claims started together (seen on a fresh clone): the owner holds the
    lock but has not yet written its line when the second claimer reads it."""
    import fcntl
    import threading

    from qhil.errors import RunFolderBusyError

    fd = os.open(tmp_path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    writer = threading.Timer(0.05, os.pwrite, (fd, b"process 4242 (qhil train --resume)\n", 0))
    writer.start()
    with pytest.raises(RunFolderBusyError, match=r"in use by process 4242 \(qhil train --resume\)"):
        with claim(tmp_path, "second"):
            pass
    writer.join()
    os.close(fd)


def test_an_owner_that_never_writes_its_line_is_still_refused(tmp_path):
    """After runlock's short wait (0.8 s: a refusal within 1 s, issue 26) it is named as
    "another process"."""
    import fcntl

    from qhil.errors import RunFolderBusyError

    fd = os.open(tmp_path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with pytest.raises(RunFolderBusyError, match="in use by another process"):
        with claim(tmp_path, "second"):
            pass
    os.close(fd)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train_run(tmp_path_factory.mktemp("runs"))


def test_two_resumes_racing_on_one_folder_buy_what_one_resume_buys(trained, tmp_path, capsys):
    """Two `train --resume` of one folder started together (issue 26: one bought a job the
    ledger could not account for): one owns the folder, the other is refused in one line naming
    it; the ledger verifies and holds exactly what one resume alone buys."""
    from qhil.execution.ledger import Ledger

    alone, raced = (Path(shutil.copytree(trained, tmp_path / name)) for name in ("a", "r"))
    resume = ["train", "--resume", "{run}", "--steps", "600", "--quiet"]
    code, _, err = run_cli(capsys, *[a.format(run=alone) for a in resume])
    assert code == 0, err
    procs = [qhil(*[a.format(run=raced) for a in resume]) for _ in range(2)]
    ended = {p.pid: (*p.communicate(timeout=300), p.returncode) for p in procs}
    owner = [pid for pid, (_, _, rc) in ended.items() if rc == 0]
    refused = [err for _, err, rc in ended.values() if rc == 2]
    assert len(owner) == 1 and len(refused) == 1, ended
    assert f"in use by process {owner[0]} (qhil train --resume)" in refused[0]
    assert len(refused[0].strip().splitlines()) == 1
    assert run_cli(capsys, "ledger", "--verify", str(raced / "ledger.sqlite"))[0] == 0
    with Ledger(alone / "ledger.sqlite") as one, Ledger(raced / "ledger.sqlite") as two:
        a, b = one.totals(), two.totals()
    assert (b.jobs, b.shots, b.resubmitted, b.in_flight) == (a.jobs, a.shots, 0, 0)
    assert stored_transitions(raced / "transitions.sqlite", 2) == 600


@pytest.fixture
def read_only_run(trained, tmp_path):
    """A copy of the run the commands cannot write: a folder without write permission, or, as
    root (who may write anywhere), a read-only bind mount of it (EROFS)."""
    run = Path(shutil.copytree(trained, tmp_path / "run"))
    if os.geteuid() != 0:
        run.chmod(0o555)
        yield run
        run.chmod(0o755)
        return
    view = tmp_path / "view"
    view.mkdir()
    if subprocess.run(["mount", "--bind", "-o", "ro", str(run), str(view)]).returncode != 0:
        pytest.skip("root without the right to mount: no way to make a folder read-only")
    try:
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=True)


@pytest.mark.parametrize("argv", [["train", "--resume", "{run}", "--steps", "300"],
                                  ["evaluate", "{run}", "--episodes", "1"]], ids=lambda a: a[0])
def test_a_read_only_run_folder_is_refused_before_anything_is_read(read_only_run, argv):
    before = tree_hashes(read_only_run)
    proc = qhil(*[a.format(run=read_only_run) for a in argv])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "is read-only" in err and "damaged" not in err, err
    assert len(err.strip().splitlines()) == 1
    assert tree_hashes(read_only_run) == before


@pytest.mark.parametrize("argv", [["train", "--resume", "{run}"], ["evaluate", "{run}"],
                                  ["qtrl", "--resume", "{run}"]], ids=lambda a: a[0])
def test_a_vanished_run_folder_is_refused_in_one_line(tmp_path, capsys, argv):
    code, _, err = run_cli(capsys, *[a.format(run=tmp_path / "gone") for a in argv])
    assert code == 2 and "no such folder" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "gone").exists()
