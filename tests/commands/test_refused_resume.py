"""A refused or failed `--resume` leaves every file of the run folder byte for byte as it was:
config.toml is rewritten (e.g. for a raised --steps) only once the run's checkpoint and journal
have been read back, and the read-only checks leave no -wal/-shm files behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qhil.errors import UntrustedFileError
from tests.commands.conftest import tree_hashes
from tests.commands.test_safe_loading import crafted, plant
from tests.commands.trained import run_cli, train_run


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return train_run(tmp_path_factory.mktemp("runs"))


@pytest.mark.parametrize("argv, fragment", [
    (["--steps", "100"], "lower than the 240"),
    (["--steps", "300", "--budget-jobs", "1"], "budget exceeded"),
    (["--steps", "300", "--provider", "nosuch"], "unknown provider"),
    (["--steps", "300", "--num-envs", "3"], "cannot change num_envs"),
])
def test_a_refused_resume_changes_no_file(finished, tmp_path, capsys, argv, fragment):
    run = Path(shutil.copytree(finished, tmp_path / "run"))
    before = tree_hashes(run)
    code, _, err = run_cli(capsys, "train", "--resume", str(run), *argv)
    assert code == 2 and fragment in err
    assert tree_hashes(run) == before


def test_a_resume_that_fails_inside_training_leaves_config_toml_as_it_was(finished, tmp_path):
    """The library's own train(resume=True), without the command's checks in front: the
    checkpoint is refused while restoring, after the ledger and journal were opened."""
    from qhil.execution.registry import get_provider
    from qhil.rl.run import run_training as train
    from qhil.rl.rundir import RunFolder

    run = Path(shutil.copytree(finished, tmp_path / "run"))
    plant(run, crafted(tmp_path / "ran"))
    before = tree_hashes(run)
    folder = RunFolder(run)
    config = folder.load_config().with_overrides(steps=300)
    with get_provider("local") as provider, pytest.raises(UntrustedFileError):
        train(config, folder, provider, resume=True)
    assert tree_hashes(run) == before and not (tmp_path / "ran").exists()
