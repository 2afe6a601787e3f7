"""bench_contention: the config both variants run, their environments, and the ratios (no timings)."""

from pathlib import Path

import tomllib

from qhil.rl.config import load_train_config
from tests.benchmarks.scripts import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


def test_config_is_pendulum_with_the_steps_and_no_evaluation(tmp_path, monkeypatch):
    bench = load_benchmark("bench_contention")
    monkeypatch.setattr(bench, "OUT", tmp_path)
    path = bench.config_file(1200, 200)
    config, paper = load_train_config(path), tomllib.loads((ROOT / "configs" / "pendulum.toml").read_text())
    assert config.steps == 1200 and config.eval.episodes == 1 and config.eval.every_steps == 0 and config.td3.learning_starts == 200
    assert tomllib.loads(path.read_text())["qtdnn"] == paper["qtdnn"]
    assert "loop" not in tomllib.loads(path.read_text())  # the old code knows every key


def test_each_variant_runs_its_own_tree_with_its_own_wait_policy(monkeypatch, tmp_path):
    bench = load_benchmark("bench_contention")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    env = bench.variant_env(tmp_path)
    assert env["PYTHONPATH"] == str(tmp_path) and "OMP_WAIT_POLICY" not in env


def test_figures_are_medians_and_the_issues_ratios():
    bench = load_benchmark("bench_contention")

    def row(scenario, wall, *rates):
        runs = [{"process_s": wall / len(rates), "steps_per_s": r, "updates": 200, "completed": True}
                for r in rates]
        return {"variant": "after", "scenario": scenario, "wall_s": wall, "runs": runs}

    rows = [row("sequential", 40.0, 60.0, 60.0), row("together", 44.0, 50.0, 50.0),
            row("beside_hog", 30.0, 30.0)]
    f = bench.figures(rows, "after")
    assert f["together_over_sequential"] == 1.1 and f["beside_hog_over_alone"] == 0.5
    assert f["alone_process_s"] == 20.0 and f["updates"] == 200 and all(f["complete"].values())
