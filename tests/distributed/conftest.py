"""A tiny Pendulum config with two explorers, and the CLI run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from qhil import cli

TINY = """env = "Pendulum-v1"
provider = "local"
block = "pqc"
steps = {steps}
[quantum]
qubits = 2
layers = 1
shots = 20
[td3]
batch_size = 32
learning_starts = 64
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
every_steps = {every}
[loop]
learner_threads = 1
log_every_steps = 50
max_updates_per_transition = 1.0
[distributed]
explorers = 2
providers = {providers}
{lag}"""


@pytest.fixture
def tiny_config(tmp_path: Path):
    def write(steps: int = 120, providers: list[str] | None = None, eval_every: int = 0,
              max_policy_lag: int | None = None) -> Path:
        path = tmp_path / "tiny.toml"
        names = ", ".join(f'"{p}"' for p in providers or [])
        lag = "" if max_policy_lag is None else f"max_policy_lag = {max_policy_lag}\n"
        path.write_text(TINY.format(steps=steps, providers=f"[{names}]", every=eval_every, lag=lag))
        return path
    return write


def run_cli(argv: list[str]) -> int:
    """`qhil ARGV` in-process; its exit code."""
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    return stop.value.code
