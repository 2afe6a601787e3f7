"""For every shipped config, scaled down in steps, a short `qhil train` buys exactly the jobs,
circuits and shots that `qhil estimate --config` of the same file predicts (one run schema)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qhil.cli import main
from qhil.execution.ledger import Ledger
from qhil.rl.config import dump_toml, load_train_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml"))


def scaled(path: Path, tmp_path: Path) -> Path:
    """40 steps, no warm-up cut short; Pendulum's episodes never end early, so they keep an
    evaluation (periodic ones too in pendulum-pqc); other environments' episodes can end early
    (the estimate counts their step limit, an upper bound), so they are evaluated not at all."""
    config = load_train_config(path)
    pendulum = config.env.startswith("Pendulum")
    config = config.with_overrides(**{
        "steps": 40, "eval.episodes": 1, "eval.final": pendulum,
        "eval.every_steps": 20 if path.name == "pendulum-pqc.toml" else 0,
        "loop.device": "cpu", "td3.learning_starts": 1000})
    out = tmp_path / path.name
    out.write_text(dump_toml(config))
    return out


def cli_json(capsys, *argv: str) -> dict:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out = capsys.readouterr().out
    assert exc.value.code == 0
    return json.loads(out[out.index("{"):])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_train_buys_what_estimate_predicts(path, tmp_path, capsys):
    config = scaled(path, tmp_path)
    predicted = cli_json(capsys, "estimate", "--config", str(config), "--json")["qtdnn"]
    cli_json(capsys, "train", "--config", str(config), "--out", str(tmp_path / "run"), "--json")
    with Ledger(tmp_path / "run" / "ledger.sqlite") as ledger:
        totals = ledger.totals()
    assert (totals.jobs, totals.circuits, totals.shots) == (
        predicted["jobs"], predicted["circuits"], predicted["shots"])
