"""`qhil estimate --from-run DIR`: a real ledger written by the Dispatcher, set beside the model."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from qhil.cli import main
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger
from qhil.execution.registry import get_provider
from qhil.quantum.ansatz import HDQNNAnsatz

CONFIG = """
env = "Pendulum-v1"
provider = "chaos-faults"
block = "pqc"
steps = 40
num_envs = 2
seed = 0

[quantum]
qubits = 3
layers = 2
shots = 50

[td3]
batch_size = 8
learning_starts = 16
policy_delay = 2

[eval]
episodes = 1
"""


def fake_run(run_dir, steps: int, envs: int) -> None:
    """The exploration a run of CONFIG sends: `steps` jobs of `envs` circuits, through the ledger."""
    ansatz, rng = HDQNNAnsatz(3, 2), np.random.default_rng(0)
    with get_provider("chaos-faults") as provider, Ledger(run_dir / "ledger.sqlite") as ledger:
        dispatcher = Dispatcher(provider, ledger=ledger)
        for step in range(steps):
            request = ansatz.request(ansatz.random_controls(envs, rng), shots=50, seed=step)
            dispatcher.run(request, timeout_s=60)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_from_run_sets_prediction_beside_the_ledger(tmp_path, capsys):
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "summary.json").write_text(json.dumps({"steps": 40, "updates": 24, "wall_s": 9.0}))
    (tmp_path / "metrics.jsonl").write_text('{"step": 40, "charts/episodic_return": -900.0}\n')
    fake_run(tmp_path, steps=20, envs=2)  # 40 transitions / 2 envs; no evaluation logged
    code, out, _ = run_cli(capsys, "estimate", "--from-run", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 0 and report["measured"]["jobs"] == 20 and report["predicted"]["jobs"] == 20
    assert report["ratios"]["shots"] == 1.0 and report["ratios"]["circuits"] == 1.0
    assert Decimal(report["measured"]["cost_usd"]) == Decimal("0.30") * 20 + Decimal("0.00145") * 2000
    assert report["ratios"]["cost_usd"] == pytest.approx(1.0)
    assert report["measured"]["wall_s"] == 9.0 and report["measured"]["jobs_s"] > 0
    assert "predicted_with_measured_latency" in report
    text = run_cli(capsys, "estimate", "--from-run", str(tmp_path))[1]
    assert "pred/meas" in text and "with measured latency" in text and "run wall clock" in text
    # the same run priced per method: what parameter-shift would have cost instead
    by_method = report["by_method"]
    assert set(by_method) == {"qtdnn", "parameter-shift"}
    assert by_method["qtdnn"]["jobs"] == report["predicted"]["jobs"]
    assert by_method["parameter-shift"]["circuits"] > by_method["qtdnn"]["circuits"]
    assert "by gradient method" in text and "parameter-shift" in text.split("by gradient method")[1]
    single = json.loads(run_cli(capsys, "estimate", "--from-run", str(tmp_path), "--json",
                                "--method", "qtdnn")[1])
    assert "by_method" not in single


def test_from_run_without_a_run_folder_is_a_one_line_error(tmp_path, capsys):
    code, _, err = run_cli(capsys, "estimate", "--from-run", str(tmp_path))
    assert code == 2 and "no config.toml" in err
    (tmp_path / "config.toml").write_text(CONFIG)
    code, _, err = run_cli(capsys, "estimate", "--from-run", str(tmp_path))
    assert code == 2 and "no ledger.sqlite" in err
