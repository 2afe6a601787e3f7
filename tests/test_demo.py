"""`make demo` (qhil/demo.py): the PQC carries the policy, the run reproduces, and the printout
sets the trained policy beside a random policy, the committed zeros ablation and the fidelity."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from qhil.demo import ABLATION, comparison, zeros_ablation
from qhil.rl.config import load_train_config

DEMO = Path(__file__).resolve().parents[1] / "configs" / "demo.toml"


def test_the_demo_config_makes_the_pqc_the_only_path_and_reproduces():
    c = load_train_config(DEMO)
    assert (c.block, c.network.clinks, c.qtdnn.prior) == ("pqc", 0, "mean-field")
    assert c.loop.mode == "sync" and c.eval.every_steps == 0  # same seed, same run


def test_the_committed_zeros_ablation_of_the_demo_is_far_below_learning():
    row = zeros_ablation("configs/demo.toml", load_train_config(DEMO).seed)
    assert row is not None and row["eval_return_mean"] <= -800, ABLATION


def test_the_zeros_figure_is_quoted_only_for_its_own_config_and_seed(tmp_path):
    path = tmp_path / "demo_seeds.json"
    runs = [{"block": "pqc", "seed": 1, "steps": 5000, "eval_return_mean": -200.0},
            {"block": "zeros", "seed": 1, "steps": 5000, "eval_return_mean": -1234.5}]
    path.write_text(json.dumps({"config": "configs/demo.toml", "runs": runs}))
    assert zeros_ablation("configs/demo.toml", 1, path)["eval_return_mean"] == -1234.5
    assert zeros_ablation("configs/demo.toml", 2, path) is None
    assert zeros_ablation("configs/pendulum.toml", 1, path) is None
    assert zeros_ablation("configs/demo.toml", 1, tmp_path / "missing.json") is None


def test_the_printout_sets_trained_random_zeros_and_fidelity_side_by_side():
    run = SimpleNamespace(config=load_train_config(DEMO), eval_return_mean=-250.0,
                          summary={"surrogate_grad_cosine": 0.86, "surrogate_grad_rel_error": 0.56})
    zeros = {"seed": 0, "steps": 5000, "eval_return_mean": -1300.0}
    text = "\n".join(comparison(run, -1100.0, zeros))
    assert "PQC only, no c-links" in text and "-250.0" in text and "+850.0" in text
    assert "-1300.0" in text and "cosine 0.860" in text
    assert "zeros" not in "\n".join(comparison(run, -1100.0, None))
