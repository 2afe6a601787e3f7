"""What a researcher reads from a run: TensorBoard events and metrics.csv with the metric names of
metrics.jsonl, the recorded loop mode, --deterministic, the no-learning warning, --quiet, the
random baseline, and the Python API (qhil.train, qhil.load_policy(...).predict)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import qhil
from qhil.cli import main
from qhil.errors import ConfigError
from qhil.rl.explorer import evaluate_random
from qhil.rl.rundir import RunFolder
from tests.rl.conftest import TINY


def run_cli(*argv: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    return exc.value.code


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "run"
    return qhil.train(dict(TINY), out=out, progress=False, steps=400)


def test_train_returns_a_run_with_tensorboard_events_and_csv(api_run):
    assert api_run.summary["steps"] == 400 and api_run.summary["updates"] > 0
    assert api_run.eval_return_mean == api_run.summary["eval_return_mean"] is not None
    assert api_run.summary["mode"] == "async" and api_run.summary["reproducible"] is False
    names = {k for row in api_run.metrics() for k in row if k != "step"}
    events = EventAccumulator(str(api_run.path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"charts/episodic_return", "eval/return_mean", "hw/latency_s", "losses/qf1_loss"} <= tags
    assert tags <= names  # the same names as metrics.jsonl, nothing invented
    (final,) = events.Scalars("eval/return_mean")
    assert final.step == 400 and final.value == pytest.approx(api_run.eval_return_mean)
    with open(api_run.path / "metrics.csv") as f:
        header = next(csv.reader(f))
    assert header[0] == "step" and set(header[1:]) == names


def test_load_policy_predicts_with_exact_or_hardware_forward(api_run):
    obs = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]], dtype=np.float32)
    with qhil.load_policy(api_run.path, forward="exact") as policy:
        a, b = policy.predict(obs), policy.predict(obs)
        single = policy.predict(obs[0])
    assert a.shape == (2, 1) and single.shape == (1,) and np.array_equal(a, b)
    assert np.all(np.abs(a) <= 2.0) and np.allclose(single, a[0], atol=1e-6)
    jobs_before = RunFolder(api_run.path)
    with qhil.load_policy(api_run.path, forward="hardware", provider="local") as policy:
        hw = policy.predict(obs)
        assert policy.sampler.stats.jobs == 1 and policy.sampler.stats.circuits == 2
    assert hw.shape == (2, 1) and np.allclose(hw, a, atol=0.5)  # 20 shots: near the exact value
    assert jobs_before.path.exists()
    with pytest.raises(ConfigError, match="forward"):
        qhil.load_policy(api_run.path, forward="surrogate")


def test_the_policys_hardware_jobs_go_to_its_own_ledger_not_the_runs(api_run, tmp_path, capsys):
    from qhil.execution.ledger import Ledger

    run_ledger = api_run.path / "ledger.sqlite"
    before = run_ledger.read_bytes()
    with qhil.load_policy(api_run.path, forward="hardware", provider="local") as policy:
        policy.predict(np.zeros(3))
    with qhil.load_policy(api_run.path, forward="hardware", provider="local",
                          ledger=tmp_path / "mine.sqlite") as policy:
        policy.predict(np.zeros((2, 3)))
    assert run_ledger.read_bytes() == before  # the run's accounting is the run's alone
    default = Ledger(api_run.path / "policy" / "ledger.sqlite")
    mine = Ledger(tmp_path / "mine.sqlite")
    assert len(default.entries()) >= 1 and [e.circuits for e in mine.entries()] == [2]
    default.close(), mine.close()
    capsys.readouterr()
    assert run_cli("ledger", "--verify", str(run_ledger)) == 0
    with pytest.raises(ConfigError, match="training run's ledger"):
        qhil.load_policy(api_run.path, forward="hardware", provider="local", ledger=run_ledger)


def test_a_bare_number_budget_is_refused_with_the_budget_it_meant(api_run, tmp_path):
    with pytest.raises(ConfigError, match=r"qhil.Budget\(usd=1.0\)"):
        qhil.load_policy(api_run.path, forward="hardware", provider="local", budget=1.0)
    with pytest.raises(ConfigError, match="got int 5"):
        qhil.train(dict(TINY), out=tmp_path / "r", progress=False, budget=5)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("obs", [np.zeros(4), np.zeros((2, 2)), np.zeros((1, 2, 3)), "abc"])
def test_predict_refuses_an_observation_of_the_wrong_size(api_run, obs):
    with qhil.load_policy(api_run.path) as policy, pytest.raises(ConfigError, match="predict"):
        policy.predict(obs)


def test_deterministic_runs_repeat_exactly_and_say_so(tiny_toml, tmp_path, capsys):
    config = tiny_toml(steps=160)
    summaries = []
    for name in ("a", "b"):
        assert run_cli("train", "--config", str(config), "--out", str(tmp_path / name),
                       "--deterministic", "--json", "--quiet") == 0
        summaries.append(json.loads(capsys.readouterr().out))
    a, b = summaries
    assert a["mode"] == "sync" and a["reproducible"] is True
    assert a["eval_returns"] == b["eval_returns"] and a["updates"] == b["updates"]
    losses = [[r.get("losses/qf1_loss") for r in RunFolder(tmp_path / n).read_metrics()]
              for n in ("a", "b")]
    assert losses[0] == losses[1]
    assert run_cli("train", "--config", str(config), "--out", str(tmp_path / "c"),
                   "--deterministic", "--mode", "async") == 2


def test_too_few_steps_warn_once_and_quiet_keeps_only_the_warning(tiny_toml, tmp_path, capsys):
    config = tiny_toml(steps=80)  # learning starts at 100
    assert run_cli("train", "--config", str(config), "--out", str(tmp_path / "r"), "--quiet") == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning: steps 80 <= 100") == 1
    assert "train: [" not in captured.err and "evaluation" not in captured.err
    assert "warning: steps 80 <= 100" in captured.out  # the summary repeats it
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["updates"] == 0 and "no learner update" in summary["warnings"][0]


def test_random_baseline_is_seeded_and_poor():
    first, again = evaluate_random("Pendulum-v1", 3, 7), evaluate_random("Pendulum-v1", 3, 7)
    assert first == again and len(first) == 3 and max(first) < -400
