"""Loading is not executing: a run folder whose checkpoint was replaced by a crafted pickle (its
manifest's size and SHA-256 updated to match, as anyone can) is refused or read safely by every
loader, and the payload never runs. `qhil convert-checkpoints DIR --trust` rewrites a trusted
folder's old pickled checkpoints so that the safe loader reads them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from qhil.errors import UntrustedFileError
from tests.commands.conftest import tree_hashes
from tests.commands.trained import qtrl_run, run_cli, train_run


class Payload:
    """Unpickled, it runs a shell command that creates the file `marker`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def crafted(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"td3": Payload(marker), "transitions": 1, "episode": 1}, buffer)
    return buffer.getvalue()


def plant(run: Path, data: bytes) -> Path:
    """`data` as the run's newest checkpoint, its manifest updated to match; the qtrl layout
    (checkpoints/latest.pt) has no manifest."""
    steps = sorted(run.glob("checkpoints/step-*"))
    if not steps:
        path = run / "checkpoints" / "latest.pt"
        path.write_bytes(data)
        return path
    (steps[-1] / "state.pt").write_bytes(data)
    manifest = json.loads((steps[-1] / "manifest.json").read_text())
    manifest.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    (steps[-1] / "manifest.json").write_text(json.dumps(manifest))
    return steps[-1] / "state.pt"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A finished tiny `qhil train` run and a tiny `qhil qtrl` run, written by qhil itself."""
    root = tmp_path_factory.mktemp("runs")
    return {"train": train_run(root), "qtrl": qtrl_run(root)}


def copy_run(runs: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(runs[kind], tmp_path / kind))


def test_the_crafted_checkpoint_does_run_its_payload_when_unpickled(tmp_path):
    """The control: the file the tests plant is live, so its absence of effect means something."""
    marker = tmp_path / "ran"
    torch.load(io.BytesIO(crafted(marker)), weights_only=False)
    assert marker.exists()


def _train_resume(capsys, run: Path) -> tuple[int, str]:
    code, _, err = run_cli(capsys, "train", "--resume", str(run), "--steps", "300")
    return code, err


def _evaluate(capsys, run: Path) -> tuple[int, str]:
    code, _, err = run_cli(capsys, "evaluate", str(run), "--episodes", "1")
    return code, err


def _load_policy(capsys, run: Path) -> tuple[int, str]:
    import qhil

    try:
        qhil.load_policy(run)
    except UntrustedFileError as exc:
        return 2, str(exc)
    return 0, ""


def _qtrl_resume(capsys, run: Path) -> tuple[int, str]:
    code, _, err = run_cli(capsys, "qtrl", "--resume", str(run), "--episodes", "2")
    return code, err


def _estimate_from_run(capsys, run: Path) -> tuple[int, str]:
    code, _, err = run_cli(capsys, "estimate", "--from-run", str(run), "--json")
    return code, err


def _compare_runs(capsys, run: Path) -> tuple[int, str]:
    code, _, err = run_cli(capsys, "compare", "--providers", "local", "--dry-run", "--qubits",
                           "2", "--layers", "1", "--runs", str(run), "--out",
                           str(run.parent / "report"))
    return code, err


REFUSING = [("train", _train_resume), ("train", _evaluate), ("train", _load_policy),
            ("qtrl", _qtrl_resume)]
IGNORING = [("train", _estimate_from_run), ("train", _compare_runs)]  # never read a checkpoint


@pytest.mark.parametrize("kind, loader", REFUSING, ids=lambda v: getattr(v, "__name__", v))
def test_a_crafted_checkpoint_is_refused_in_one_line_and_never_runs(runs, tmp_path, capsys,
                                                                     kind, loader):
    run = copy_run(runs, kind, tmp_path)
    marker = tmp_path / "ran"
    plant(run, crafted(marker))
    before = tree_hashes(run)
    code, err = loader(capsys, run)
    assert code == 2 and "convert-checkpoints" in err and "--trust" in err
    assert "posix.system" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists()
    assert tree_hashes(run) == before


@pytest.mark.parametrize("loader", [loader for _, loader in IGNORING],
                         ids=lambda v: v.__name__)
def test_commands_that_read_no_checkpoint_work_beside_a_crafted_one(runs, tmp_path, capsys,
                                                                   loader):
    run = copy_run(runs, "train", tmp_path)
    marker = tmp_path / "ran"
    plant(run, crafted(marker))
    code, err = loader(capsys, run)
    assert code == 0, err
    assert not marker.exists()


def test_the_legacy_latest_pt_is_read_safely_too(runs, tmp_path, capsys):
    run = copy_run(runs, "train", tmp_path)
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").mkdir()
    marker = tmp_path / "ran"
    plant(run, crafted(marker))
    code, err = _evaluate(capsys, run)
    assert code == 2 and "convert-checkpoints" in err and not marker.exists()


def _old_format(run: Path) -> None:
    """The newest checkpoint as an older writer could have left it: numpy values, pickled."""
    folder = sorted(run.glob("checkpoints/step-*"))[-1]
    state = torch.load(folder / "state.pt", weights_only=True)
    state["surrogate"] = {k: np.float64(v) for k, v in state["surrogate"].items()}
    state["fidelity_array"] = np.arange(3.0)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    plant(run, buffer.getvalue())


def test_convert_refuses_without_trust_and_changes_nothing(runs, tmp_path, capsys):
    run = copy_run(runs, "train", tmp_path)
    _old_format(run)
    before = tree_hashes(run)
    code, _, err = run_cli(capsys, "convert-checkpoints", str(run))
    assert code == 2 and "--trust" in err and len(err.strip().splitlines()) == 1
    assert tree_hashes(run) == before


def test_convert_with_trust_makes_an_old_checkpoint_loadable(runs, tmp_path, capsys):
    run = copy_run(runs, "train", tmp_path)
    _old_format(run)
    assert _evaluate(capsys, run)[0] == 2  # refused as it is
    code, out, err = run_cli(capsys, "convert-checkpoints", str(run), "--trust")
    assert code == 0, err
    assert "1 of 3" in out
    import qhil

    with qhil.load_policy(run) as policy:
        action = policy.predict(np.zeros(3, dtype=np.float32))
    assert np.all(np.isfinite(action))
    again = tree_hashes(run)
    assert run_cli(capsys, "convert-checkpoints", str(run), "--trust")[0] == 0
    assert tree_hashes(run) == again  # a safe folder is left as it is
