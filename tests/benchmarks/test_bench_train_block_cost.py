"""bench_train_block_cost: the paper-scale Humanoid config it runs, and its report (no timings)."""

import cProfile
from pathlib import Path

import tomllib

from tests.benchmarks.scripts import load_benchmark

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script():
    return load_benchmark("bench_train_block_cost")


def test_humanoid_config_is_the_papers_with_the_benchmark_overrides(tmp_path, monkeypatch):
    bench = load_script()
    monkeypatch.setattr(bench, "RUNS", tmp_path)
    monkeypatch.chdir(BENCH.parent)
    config = tomllib.loads(Path(bench.config_for("humanoid")).read_text())
    paper = tomllib.loads((BENCH.parent / "configs" / "humanoid.toml").read_text())
    assert config["td3"]["learning_starts"] == 1000 and config["eval"]["episodes"] == 1
    assert config["qtdnn"].pop("fidelity_every") == 250  # checks in the run's second half
    paper["qtdnn"].pop("fidelity_every")
    assert config["qtdnn"] == paper["qtdnn"] and config["quantum"] == paper["quantum"]
    assert bench.config_for("pendulum") == "configs/pendulum.toml"


def test_profile_buckets_sum_cumulative_time_of_the_named_functions():
    bench = load_script()
    import torch

    from qhil.layers.hdqnn import QtDNN, QtDNNTrainer

    trainer = QtDNNTrainer(QtDNN(6, 2, [8]), 1e-3, 2, 4)
    prof = cProfile.Profile()
    prof.runcall(trainer.refit, torch.rand(10, 6), torch.rand(10, 2), torch.Generator())
    found = bench.buckets(prof)
    assert found["qtDNN refit (32 tiny batches)"] > 0
    assert found["critic update"] == 0
    top = bench.top_functions(prof)
    assert 0 < len(top) <= 15 and list(top.values()) == sorted(top.values(), reverse=True)
    fc = {"wall_s": 0.5, "buckets_s": dict.fromkeys(found, 0.0), "top_own_s": {}}
    pqc = {"wall_s": 1.0, "buckets_s": found, "top_own_s": top}
    text = bench.profile_markdown({"env": "humanoid", "steps": 3, "blocks": {"pqc": pqc, "fc": fc}})
    assert "| qtDNN refit (32 tiny batches) |" in text and "(2.00x)" in text
    assert "| part | pqc s | fc s |" in text and "Top own time, fc:" in text


def test_markdown_states_ratio_and_load():
    bench = load_script()
    runs = [{"block": b, "updates": 2, "train_wall_s": w, "eval_return_mean": -1.0}
            for b, w in (("pqc", 3.0), ("fc", 2.0))]
    data = {"comparisons": [{"env": "pendulum", "steps": 5, "runs": runs,
                             "pqc_over_fc_wall_ratio": 1.5, "load_average": [1.0, 2.0]}]}
    text = bench.markdown(data)
    assert "**1.50x** (target <= 2.0x: met)" in text and "load average 1.00 before" in text
    data["comparisons"][0].update(pqc_over_fc_wall_ratio=2.5, target=1.5, met=False)
    assert "**2.50x** (target <= 1.5x: not met)" in bench.markdown(data)
