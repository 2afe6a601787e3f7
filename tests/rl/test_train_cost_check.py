"""`qhil train` estimates the run before spending: over budget it refuses, on a billing device
it asks (or takes --yes); nothing is written or submitted before that."""

from __future__ import annotations

import io

import pytest

from qhil.cli import main
from qhil.config import DATA_ROOT


@pytest.fixture
def priced_profile(tmp_path):
    """The local simulator behind the chaos wrapper, billed like a Braket QPU, with no faults."""
    path = tmp_path / "priced.toml"
    path.write_text(
        'name = "priced"\nkind = "chaos"\ndevice = "embedded"\n'
        f'calibration = "{DATA_ROOT / "calibration" / "chaos-priced.toml"}"\n'
        "[limits]\nmax_qubits = 24\nmax_shots = 100000\n"
        '[options]\ninner = "local"\nseed = 1\nlatency_median_s = 0.0\nlatency_p95_s = 0.0\n')
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_over_budget_estimate_refuses_before_anything_is_written(tiny_toml, priced_profile,
                                                                tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--config", str(tiny_toml()), "--provider",
                           str(priced_profile), "--budget-usd", "1", "--yes", "--out", str(out_dir))
    assert code == 2 and "budget exceeded (dollars)" in err and len(err.strip().splitlines()) == 1
    assert not out_dir.exists()


def test_billing_device_without_a_yes_is_not_started(tiny_toml, priced_profile, tmp_path,
                                                     capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: no answer
    out_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "--config", str(tiny_toml()), "--provider",
                             str(priced_profile), "--out", str(out_dir))
    assert code == 2 and "nothing was sent" in err and "--yes" in err and "jobs" in err
    assert len(err.strip().splitlines()) == 1 and not out_dir.exists()


def test_yes_prints_the_estimate_and_trains(tiny_toml, priced_profile, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "--config", str(tiny_toml(steps=120)), "--provider",
                           str(priced_profile), "--yes", "--out", str(out_dir))
    assert code == 0 and "the run (120 steps" in err and (out_dir / "summary.json").exists()
