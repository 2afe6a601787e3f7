"""`qhil train` estimates the run before spending: over budget it refuses, on a billing device
it asks (or takes --yes); nothing is written or submitted before that."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from qhil.cli import main
from qhil.config import DATA_ROOT
from qhil.execution.ledger import Ledger


@pytest.fixture
def priced_profile(tmp_path):
    """The local simulator behind the chaos wrapper, billed like a Braket QPU, with no faults."""
    path = tmp_path / "priced.toml"
    path.write_text(
        'name = "priced"\nkind = "chaos"\ndevice = "embedded"\n'
        f'calibration = "{DATA_ROOT / "calibration" / "chaos-priced.toml"}"\n'
        "[limits]\nmax_qubits = 24\nmax_shots = 100000\nsupports_exact = true\n"
        '[options]\ninner = "local"\nseed = 1\nlatency_median_s = 0.0\nlatency_p95_s = 0.0\n')
    return path


@pytest.fixture
def submitted(monkeypatch):
    """The requests that reached the embedded simulator behind the priced chaos profile."""
    from qhil.adapters.local import LocalProvider

    sent, real = [], LocalProvider._submit
    monkeypatch.setattr(LocalProvider, "_submit", lambda self, request: sent.append(request) or
                        real(self, request))
    return sent


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


# -- the consent estimate is the run's own gradient method, and it is what the run buys --------

METHODS = ["qtdnn", "parameter-shift", "spsa", "exact"]
SHOWN = re.compile(r"qhil: the run \(.*?\) on priced: ([\d,]+) jobs, ([\d,]+) circuits, "
                   r"([\d,]+) shots, .*about \$([\d.]+)")


def shown(err: str) -> tuple[int, int, int, Decimal]:
    """(jobs, circuits, shots, dollars) of the estimate printed before the question."""
    jobs, circuits, shots, usd = SHOWN.search(err).groups()
    return int(jobs.replace(",", "")), int(circuits.replace(",", "")), \
        int(shots.replace(",", "")), Decimal(usd)


def bought(run: Path) -> tuple[int, int, int, Decimal]:
    with Ledger(run / "ledger.sqlite") as ledger:
        t = ledger.totals()
    return t.jobs, t.circuits, t.shots, t.cost_usd


def tiny_run(tiny_toml, method: str) -> Path:
    """140 steps, 30 learner updates and one evaluation episode, by the given method."""
    return tiny_toml(steps=140, quantum={"qubits": 2, "layers": 1, "shots": 20,
                                         "gradient": method}, eval={"episodes": 1})


def train_cli(capsys, config: Path, profile: Path, out: Path, *budget: str):
    return run_cli(capsys, "train", "--config", str(config), "--provider", str(profile),
                   "--yes", "--out", str(out), *budget)


def train_api(capsys, config: Path, profile: Path, out: Path, budget=None):
    import qhil

    try:
        qhil.train(config, out=out, provider=str(profile), budget=budget or qhil.Budget(usd=10**6),
                   yes=True, progress=False)
    except qhil.QhilError as exc:
        return 2, "", f"{capsys.readouterr().err}qhil: error: {exc}"
    return 0, "", capsys.readouterr().err


@pytest.mark.parametrize("entry", ["qhil train", "qhil.train"])
@pytest.mark.parametrize("method", METHODS)
def test_the_estimate_asked_about_is_what_the_run_buys(method, entry, tiny_toml, priced_profile,
                                                       tmp_path, capsys, submitted):
    config, run = tiny_run(tiny_toml, method), tmp_path / "run"
    train = train_cli if entry == "qhil train" else train_api
    code, _, err = train(capsys, config, priced_profile, run)
    assert code == 0, err
    estimate, ledger = shown(err), bought(run)
    assert estimate[:3] == ledger[:3] and f"{method})" in err
    assert abs(ledger[3] - estimate[3]) <= Decimal("0.01") * estimate[3], (estimate, ledger)
    submitted.clear()
    short = (estimate[3] * Decimal("0.99")).quantize(Decimal("0.01"))
    budget = ("--budget-usd", str(short)) if entry == "qhil train" else (qhil_budget(short),)
    code, _, err = train(capsys, config, priced_profile, tmp_path / "short", *budget)
    assert code == 2 and "budget exceeded (dollars)" in err, err
    assert submitted == [] and not (tmp_path / "short").exists()


def qhil_budget(usd: Decimal):
    from qhil import Budget

    return Budget(usd=usd)
