"""A disk that fills during training (issue 26, "Disk full"): `ENOSPC` injected at a seeded point
of each write layer (the journal, the ledger, a checkpoint). The run stops with one line naming
the resume command; the journal, ledger and last checkpoint are intact (`qhil ledger --verify`
passes); once space is freed (the injection removed) `--resume` completes with every transition
stored once and no job bought twice (the ledger and the chaos service agree). A variant on a
real, small tmpfs runs where the test may mount one (root) and is skipped otherwise."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import qhil.rl.checkpoints as checkpoints
from qhil.cli import main
from qhil.execution.ledger import Ledger
from qhil.rl.checkpoints import CheckpointStore
from qhil.rl.config import dump_toml
from qhil.rl.journal import Journal
from tests.reference import spooled_profile
from tests.rl.conftest import tiny_config

SEED = 26
STEPS = 240


def disk_full(what: str) -> OSError:
    if what == "checkpoint":
        return OSError(errno.ENOSPC, "No space left on device")
    return sqlite3.OperationalError("database or disk is full")


def inject(monkeypatch, point: str, after: int) -> None:
    """Fail the `after`-th write of one layer (and every later one) as a full disk does."""
    calls = Counter()

    def failing(original, raised):
        def write(*args, **kwargs):
            calls[point] += 1
            if calls[point] >= after:
                raise raised
            return original(*args, **kwargs)
        return write

    if point == "journal":
        monkeypatch.setattr(Journal, "_write", failing(Journal._write, disk_full(point)))
    elif point == "ledger":
        monkeypatch.setattr(Ledger, "_write", failing(Ledger._write, disk_full(point)))
    else:
        monkeypatch.setattr(checkpoints, "_write_synced",
                            failing(checkpoints._write_synced, disk_full(point)))


def setup(tmp_path: Path) -> tuple[Path, Path]:
    spooled_profile(tmp_path / "chaos.toml", tmp_path / "service", 0.001, 0.002)
    config = tiny_config(steps=STEPS).with_overrides(
        provider=str(tmp_path / "chaos.toml"), **{"loop.checkpoint_every_steps": 80})
    (tmp_path / "train.toml").write_text(dump_toml(config))
    return tmp_path / "train.toml", tmp_path / "run"


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code, out, err


def verify_ledger(capsys, run: Path) -> None:
    code, out, err = cli(capsys, "ledger", "--verify", str(run / "ledger.sqlite"))
    assert code == 0, out + err


def last_checkpoint_intact(run: Path, written: bool) -> None:
    """The newest checkpoint loads without a warning (and one exists where the seeded point
    falls after the first); nothing half-written is left."""
    warnings: list[str] = []
    state = CheckpointStore(run / "checkpoints", warn=warnings.append).load()
    assert state is not None or not written
    assert warnings == [] and not list((run / "checkpoints").glob(".tmp-*"))


def service_jobs(tmp_path: Path) -> Counter:
    from qhil.adapters.chaos_spool import JobSpool

    return Counter(job.request_hash for job in JobSpool(tmp_path / "service").jobs())


# the seeded write at which each layer's disk fills (the journal and ledger write several rows
# per step: the points fall mid-run, after a checkpoint and before the last)
DRAWN = np.random.default_rng(SEED).integers([100, 200, 3], [160, 400, 6])
POINTS = dict(zip(("journal", "ledger", "checkpoint"), map(int, DRAWN), strict=True))


@pytest.mark.parametrize("point", list(POINTS))
def test_a_full_disk_stops_cleanly_and_resume_loses_nothing(point, tmp_path, capsys, monkeypatch):
    config, run = setup(tmp_path)
    with monkeypatch.context() as patch:
        inject(patch, point, POINTS[point])
        code, out, err = cli(capsys, "train", "--config", str(config), "--out", str(run))
    stopped_then_resumed(capsys, tmp_path, run, code, err, written=True)


def mount(*argv: str) -> bool:
    return subprocess.run(["mount", *argv], capture_output=True).returncode == 0


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0 or not shutil.which("mount"),
                    reason="mounting a small tmpfs needs root")
def test_a_real_small_tmpfs_that_fills(tmp_path, capsys):
    """The run folder on a 384 KiB tmpfs (a whole run takes about 500 KiB): it fills mid-run;
    the tmpfs is then grown (space freed) and the run resumed."""
    config, _ = setup(tmp_path)
    disk = tmp_path / "disk"
    disk.mkdir()
    if not mount("-t", "tmpfs", "-o", "size=384k", "tmpfs", str(disk)):
        pytest.skip("this machine refuses to mount a tmpfs here")
    try:
        run = disk / "run"
        code, out, err = cli(capsys, "train", "--config", str(config), "--out", str(run))
        assert mount("-o", "remount,size=64m", str(disk))
        stopped_then_resumed(capsys, tmp_path, run, code, err, written=False)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def stopped_then_resumed(capsys, tmp_path: Path, run: Path, code: int, err: str,
                         written: bool) -> None:
    """The stop (one line, the resume command, files intact), the resume and its accounts."""
    assert code == 3, err
    said = [line for line in err.splitlines() if line.startswith("qhil:")]
    assert len(said) == 1 and err.strip().endswith(said[0]) and "Traceback" not in err, err
    assert "full" in err and f"qhil train --resume {run}" in err, err
    verify_ledger(capsys, run)
    last_checkpoint_intact(run, written)
    code, out, err = cli(capsys, "train", "--resume", str(run), "--json")
    assert code == 0, err
    summary = json.loads(out)
    with Ledger(run / "ledger.sqlite") as ledger:
        totals = ledger.totals()
    steps = sqlite3.connect(run / "transitions.sqlite").execute(
        "SELECT COUNT(*), COUNT(DISTINCT vstep) FROM steps").fetchone()
    assert summary["steps"] == STEPS and steps == (STEPS // 2, STEPS // 2)  # none lost, none twice
    assert totals.resubmitted == 0 and totals.in_flight == 0
    service = service_jobs(tmp_path)
    assert sum(service.values()) == totals.jobs and max(service.values()) == 1
    verify_ledger(capsys, run)
