"""A tiny Pendulum config for sweeps (a few hundred steps), a short TMPDIR for Ray, and the CLI
run in-process."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from qhil import cli

TINY = """env = "Pendulum-v1"
provider = "{provider}"
block = "pqc"
steps = 300
[quantum]
qubits = 2
layers = 1
shots = 20
[td3]
batch_size = 32
learning_starts = 100
[qtdnn]
n_tiny_batches = 1
tiny_batch_size = 16
fidelity_every = 0
[network]
pre_hidden = [16]
post_hidden = [16]
critic_hidden = [32]
[eval]
episodes = 1
[loop]
mode = "sync"
learner_threads = 1
log_every_steps = 50
"""


@pytest.fixture
def tiny_config(tmp_path: Path):
    def write(provider: str = "local") -> Path:
        path = tmp_path / f"tiny-{provider}.toml"
        path.write_text(TINY.format(provider=provider))
        return path
    return write


@pytest.fixture
def short_tmp():
    """A short TMPDIR for Ray's sockets (107 characters at most), removed after."""
    path = tempfile.mkdtemp(prefix="qs")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_cli(argv: list[str]) -> int:
    """`qhil ARGV` in-process; its exit code."""
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    return stop.value.code
