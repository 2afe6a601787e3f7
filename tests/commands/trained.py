"""Run folders written by qhil itself, for tests that need a real one: a finished tiny
`qhil train` run (step-* checkpoints, journal, ledger) and a tiny `qhil qtrl` run."""

from __future__ import annotations

from pathlib import Path

import pytest

from qhil.cli import main
from qhil.rl.config import dump_toml
from tests.rl.conftest import tiny_config


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def tiny_toml(root: Path, **top) -> Path:
    path = root / "tiny.toml"
    path.write_text(dump_toml(tiny_config(**top)))
    return path


def train_run(root: Path) -> Path:
    with pytest.raises(SystemExit) as done:
        main(["train", "--config", str(tiny_toml(root)), "--out", str(root / "train")])
    assert done.value.code == 0
    return root / "train"


def qtrl_run(root: Path) -> Path:
    with pytest.raises(SystemExit) as done:
        main(["qtrl", "--env", "CartPole-v1", "--blocks", "2", "--seed", "4",
              "--policy", "classical", "--episodes", "1", "--out", str(root / "qtrl")])
    assert done.value.code == 0
    return root / "qtrl"
