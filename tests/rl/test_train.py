"""`qhil train` / `qhil evaluate` end to end on tiny Pendulum runs, in-process."""

from __future__ import annotations

import json
import math

import pytest

from qhil.cli import main
from qhil.rl.config import dump_toml
from qhil.rl.run import run_training as train
from qhil.rl.rundir import RunFolder
from tests.rl.conftest import CountingProvider, tiny_config

SUMMARY_KEYS = {"env", "provider", "block", "steps", "updates", "wall_s", "eval_return_mean",
                "eval_return_std", "hw", "learner_wait_fraction", "surrogate_grad_cosine"}
HW_KEYS = {"jobs", "circuits", "shots", "cost_usd", "latency_p50_s", "latency_p95_s"}


def run_cli(*argv: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    return exc.value.code


def test_train_writes_run_folder_then_resume_continues(tiny_toml, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", "--config", str(tiny_toml()), "--out", str(out), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    for name in ("config.toml", "metrics.jsonl", "summary.json", "returns.png", "latency.png",
                 "transitions.sqlite", "ledger.sqlite", "checkpoints/step-000000240/state.pt",
                 "checkpoints/step-000000240/manifest.json"):
        assert (out / name).exists(), name
    assert SUMMARY_KEYS <= summary.keys() and HW_KEYS <= summary["hw"].keys()
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 240 and summary["updates"] > 0
    # the PreDNN-gradient figures and the per-sample Jacobian ones, each median and last value
    for name in ("grad_cosine", "grad_rel_error", "jacobian_cosine", "jacobian_rel_error"):
        assert math.isfinite(summary[f"surrogate_{name}"]), name
        assert math.isfinite(summary[f"surrogate_{name}_last"]), name
    assert -1 <= summary["surrogate_grad_cosine"] <= 1 and summary["surrogate_grad_rel_error"] >= 0
    assert summary["surrogate_grad_cosine"] != summary["surrogate_jacobian_cosine"]
    assert summary["fidelity_reference"] == "exact" and summary["gradient"] == "qtdnn"
    rows = RunFolder(out).read_metrics()
    keys = set().union(*rows)
    assert {"charts/SPS", "losses/qf1_loss", "losses/actor_loss", "surrogate/loss",
            "surrogate/jacobian_cosine", "surrogate/grad_cosine", "surrogate/grad_rel_error",
            "surrogate/jacobian_rel_error", "hw/shots", "hw/latency_s", "hw/cost_usd"} <= keys
    explore_jobs = summary["hw"]["jobs"] - 200  # 2 eval episodes of 200 steps, one job per step
    assert explore_jobs == 120  # 240 steps / 2 envs: one job per vector step

    assert run_cli("train", "--resume", str(out), "--steps", "300", "--json") == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["steps"] == 300 and resumed["updates"] > summary["updates"]
    # only the 30 new vector steps (and a new evaluation) were sampled; nothing resampled
    assert resumed["hw"]["jobs"] == summary["hw"]["jobs"] + 30 + 200


def test_evaluate_reads_the_run(tiny_toml, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", "--config", str(tiny_toml(block="fc", steps=120)), "--out", str(out)) == 0
    capsys.readouterr()
    assert run_cli("evaluate", str(out), "--episodes", "1", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 1 and math.isfinite(report["return_mean"])


@pytest.mark.parametrize("block", ["fc", "rbg", "zeros"])
def test_classical_blocks_train_without_hardware(block, tmp_path):
    provider = CountingProvider()
    config = tiny_config(block=block, steps=160).with_overrides(**{"eval.episodes": 1})
    folder = RunFolder(tmp_path / block)
    summary = train(config, folder, provider)
    assert summary["block"] == block and summary["updates"] > 0
    assert provider.threads == [] and summary["hw"]["jobs"] == 0
    assert summary["surrogate_grad_cosine"] is None
    assert not (folder.path / "latency.png").exists()  # no job sent: no empty latency plot
    assert (folder.path / "returns.png").exists() and (folder.path / "metrics.csv").exists()


def test_learner_never_calls_the_provider(tmp_path):
    provider = CountingProvider()
    config = tiny_config(steps=200).with_overrides(**{"loop.mode": "async", "eval.episodes": 1})
    folder = RunFolder(tmp_path / "async")
    summary = train(config, folder, provider)
    assert summary["updates"] > 0
    assert set(provider.threads) == {"qhil-explorer", "qhil-eval_0"}
    assert provider.threads.count("qhil-explorer") == 100
    assert 0 <= summary["learner_wait_fraction"] <= 1


@pytest.mark.parametrize("argv, needle", [
    (["train", "--out", "X", "--block", "quantum"], "invalid choice"),
    (["train", "--out", "X", "--steps", "-5"], "positive integer"),
    (["train", "--out", "X", "--env", "NoSuchEnv-v0"], "unknown environment"),
    (["train", "--out", "X", "--provider", "nope"], "unknown provider"),
    (["train"], "--out"),
    (["train", "--resume", "missing-dir"], "not a run folder"),
    (["evaluate", "missing-dir"], "not a run folder"),
])
def test_bad_input_exits_2_with_one_line(argv, needle, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not (tmp_path / "X").exists()


def test_bad_config_field_and_existing_run(tiny_toml, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('env = "Pendulum-v1"\n[td3]\nbatch_sise = 3\n')
    assert run_cli("train", "--config", str(bad), "--out", str(tmp_path / "r")) == 2
    assert "td3.batch_sise" in capsys.readouterr().err
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "config.toml").write_text("")
    assert run_cli("train", "--config", str(tiny_toml()), "--out", str(tmp_path / "r2")) == 2
    assert "--resume" in capsys.readouterr().err


def test_budget_stops_cleanly_and_resume_continues(tiny_toml, tmp_path, capsys):
    out = tmp_path / "run"
    config = str(tiny_toml(steps=200))
    # 2 envs x 20 shots = 40 shots per job: 1000 shots last 25 of the 100 vector steps, so
    # the run is refused up front, unless asked to start and stop at the budget
    assert run_cli("train", "--config", config, "--out", str(out), "--budget-shots", "1000") == 2
    assert "budget exceeded (shots)" in capsys.readouterr().err and not out.exists()
    assert run_cli("train", "--config", config, "--out", str(out), "--budget-shots", "1000",
                   "--stop-at-budget") == 3
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines
    assert err.startswith("qhil: error: budget") and f"--resume {out}" in err
    assert RunFolder(out).has_checkpoint() and (out / "ledger.sqlite").exists()
    assert run_cli("train", "--resume", str(out), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 200
    assert summary["hw"]["jobs"] == 100 + 200  # 100 exploring jobs in all, then the evaluation


def test_trig_qtdnn_config_trains_resumes_and_logs_the_fidelity(tmp_path, capsys):
    qtdnn = {**tiny_config().qtdnn.model_dump(), "activation": "gelu", "features": "trig",
             "weight_decay": 0.05}
    path = tmp_path / "trig.toml"
    path.write_text(dump_toml(tiny_config(qtdnn=qtdnn)))
    out = tmp_path / "run"
    assert run_cli("train", "--config", str(path), "--out", str(out), "--json") == 0
    capsys.readouterr()
    keys = set().union(*RunFolder(out).read_metrics())
    assert {"surrogate/jacobian_cosine", "surrogate/grad_cosine"} <= keys
    assert 'features = "trig"' in (out / "config.toml").read_text()
    checks = json.loads((out / "summary.json").read_text())["fidelity_checks"]
    assert run_cli("train", "--resume", str(out), "--steps", "300", "--json") == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["steps"] == 300 and resumed["fidelity_checks"] > checks  # history kept


@pytest.mark.parametrize("field, value", [("activation", "relu6"), ("features", "fourier")])
def test_unknown_qtdnn_option_exits_2(field, value, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'env = "Pendulum-v1"\n[qtdnn]\n{field} = "{value}"\n')
    assert run_cli("train", "--config", str(bad), "--out", str(tmp_path / "r")) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"qtdnn.{field}" in err
    assert not (tmp_path / "r").exists()


def test_the_sync_loop_lends_the_live_actor_and_learns_the_same_bits(tmp_path, monkeypatch):
    """On the CPU the sync explorer acts with the learner's own actor (no copy per step); a run
    that copies it instead (as the async loop must) gives the same losses and returns."""
    from qhil.rl import explorer, loop

    lent = []
    load = explorer.Explorer.load_policy
    monkeypatch.setattr(explorer.Explorer, "load_policy",
                        lambda self, actor, version: (lent.append(actor), load(self, actor, version)))
    config = tiny_config(steps=200).with_overrides(**{"loop.mode": "sync", "eval.episodes": 1})
    runs = {}
    for name, copies in (("lent", False), ("copied", True)):
        lent.clear()
        with monkeypatch.context() as patch:
            if copies:
                patch.setattr(loop, "_on_cpu", lambda actor: False)
            summary = train(config, RunFolder(tmp_path / name), CountingProvider())
        losses = [r.get("losses/qf1_loss") for r in RunFolder(tmp_path / name).read_metrics()]
        runs[name] = (summary["eval_returns"], losses, len({id(a) for a in lent}))
    assert runs["lent"][:2] == runs["copied"][:2] and any(runs["lent"][1])
    assert runs["lent"][2] == 1 and runs["copied"][2] > 10  # one actor lent; a copy per update
