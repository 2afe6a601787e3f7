"""A folder of the files a new user has lying about: configs good and bad, run folders whole and
damaged, a corrupt ledger, a finished report, misspelt profiles. Built once per module; every
test hashes it before and after to show a failing command changed nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from qhil.files import toml_text
from qhil.rl.config import TrainConfig, dump_toml
from tests.rl.conftest import TINY

LOCAL = 'name = "{name}"\nkind = "local"\ndevice = "embedded"\n[limits]\nmax_qubits = 8\n' \
        '[options]\n{option}\n'


def _train_run(folder: Path, config: TrainConfig, checkpoint: bytes | None = None) -> None:
    import torch

    from qhil.rl.learner import build_td3
    from qhil.rl.run import env_dims

    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.toml").write_text(dump_toml(config))
    path = folder / "checkpoints" / "latest.pt"
    if checkpoint is None:
        td3 = build_td3(config, *env_dims(config.env), torch.device("cpu"))
        torch.save({"td3": td3.state_dict(), "transitions": config.steps}, path)
        (folder / "summary.json").write_text(f'{{"steps": {config.steps}}}\n')  # finished
    else:
        path.write_bytes(checkpoint)


def build_world(root: Path) -> Path:
    config = TrainConfig(**TINY)
    (root / "good.toml").write_text(dump_toml(config))
    (root / "latin1.toml").write_bytes('env = "Pendel\xfc"\n'.encode("latin-1"))
    (root / "dir.toml").mkdir()
    (root / "afile").write_text("just a file\n")
    (root / "somedir").mkdir()
    (root / "corrupt.sqlite").write_bytes(b"this is not sqlite at all" * 40)
    _train_run(root / "goodrun", config)
    _train_run(root / "cutrun", config, checkpoint=b"PK\x03\x04 truncated")
    _train_run(root / "badledger", config)
    (root / "badledger" / "ledger.sqlite").write_bytes(b"\x00garbage" * 100)
    (root / "badledger" / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2, "oops\n')
    (root / "report").mkdir()
    (root / "report" / "report.json").write_text('{"measured": true}\n')
    (root / "qtrlrun" / "checkpoints").mkdir(parents=True)
    (root / "qtrlrun" / "config.toml").write_text(toml_text(
        {"env": "CartPole-v1", "episodes": 5, "blocks": 2, "seed": 0}))
    import torch

    torch.save({"episode": 5}, root / "qtrlrun" / "checkpoints" / "latest.pt")
    (root / "qtrlcut").mkdir(parents=True)
    (root / "qtrlcut" / "config.toml").write_text(toml_text({"env": "CartPole-v1", "episodes": 5}))
    (root / "qtrlcut" / "checkpoints").mkdir()
    (root / "qtrlcut" / "checkpoints" / "latest.pt").write_bytes(b"\x80\x02 cut")
    (root / "complex8.toml").write_text(LOCAL.format(name="c8", option='precision = "complex8"'))
    (root / "tpu.toml").write_text(LOCAL.format(name="tpu", option='device = "tpu"'))
    (root / "latin1-profile.toml").write_bytes(b'name = "x\xe9"\nkind = "local"\n')
    return root


def tree_hashes(root: Path) -> dict[str, str]:
    """Every path under root -> sha256 of its bytes ('dir' for folders)."""
    out = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        out[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return build_world(tmp_path_factory.mktemp("world"))
