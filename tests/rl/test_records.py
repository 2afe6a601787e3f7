"""The typed records of a training run: summary.json (`RunSummary`) and metrics rows (`MetricsRow`)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from qhil.errors import ConfigError
from qhil.rl.metrics import MetricsRow
from qhil.rl.sampler import HardwareStats
from qhil.rl.summary import SUMMARY_VERSION, RunSummary

# a summary.json as qhil wrote it before every key was declared (keys of early versions included)
OLD = {"env": "Pendulum-v1", "provider": "local", "block": "pqc", "steps": 240, "updates": 70,
       "hw": {"jobs": 320, "circuits": 640, "shots": 12800, "cost_usd": 0.0,
              "latency_p50_s": 0.01, "latency_p95_s": 0.02, "queue_p50_s": 0.0},
       "threads": {"cpus": 2, "learner": 1, "explorer": 1, "evaluation": 1,
                   "omp_wait_policy": None},
       "surrogate_actor_grad_cosine": 0.7, "surrogate_jacobian_cosine_refit": 0.9,
       "surrogate_grad_cosine": 0.6, "mode": "sync", "reproducible": True}


def test_an_old_summary_loads_its_unknown_keys_dropped_and_named(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(OLD))
    summary = RunSummary.read(path)
    assert summary.summary_version == 1 and summary.steps == 240 and summary.hw.jobs == 320
    assert set(summary.dropped_keys) == {"hw.queue_p50_s", "surrogate_actor_grad_cosine",
                                         "surrogate_jacobian_cosine_refit"}
    assert summary.eval_return_mean is None and summary.explorers == []  # missing: defaults
    assert summary.mode == "sync" and summary.reproducible is True


def test_a_summary_with_a_wrong_type_is_one_config_error(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({**OLD, "steps": "many"}))
    with pytest.raises(ConfigError, match="steps"):
        RunSummary.read(path)


def test_writing_an_undeclared_key_fails():
    with pytest.raises(ValidationError, match="surrogate_new_figure"):
        RunSummary(steps=3, surrogate_new_figure=0.5)
    with pytest.raises(ValidationError):
        RunSummary(mode="parallel")


def test_a_summary_reads_as_its_json_spells_it_and_writes_null_for_nan():
    summary = RunSummary(summary_version=SUMMARY_VERSION, steps=3, hw={"jobs": 2},
                         eval_return_mean=float("nan"), explorers=[
                             {"explorer": 0, "provider": "local", "ledger": "l.sqlite",
                              "steps": 3, "jobs": 2, "shots": 40, "cost_usd": 0.0}])
    assert summary["hw"]["jobs"] == summary.hw.jobs == 2 and summary["explorers"][0]["steps"] == 3
    assert summary.get("mode") is None and summary.get("nope", 1) == 1 and "mode" in summary
    with pytest.raises(KeyError):
        summary["nope"]
    data = summary.to_json()
    assert data["eval_return_mean"] is None and set(data) == set(summary.keys())
    assert RunSummary.from_json(json.loads(json.dumps(data))) == summary


def test_a_metrics_row_writes_its_json_names_and_only_the_fields_given():
    episode = MetricsRow(step=40, episodic_return=-900.5, episodic_length=200)
    assert episode.to_json() == {"step": 40, "charts/episodic_return": -900.5,
                                 "charts/episodic_length": 200}
    row = MetricsRow(step=80, jobs=4, latency_s=None, **{"losses/qf1_loss": 1.5})
    assert row.to_json() == {"step": 80, "hw/jobs": 4, "hw/latency_s": None, "losses/qf1_loss": 1.5}
    with pytest.raises(ValidationError):
        MetricsRow(step=1, **{"losses/new_loss": 1.0})  # a learner figure nobody declared


def test_an_old_checkpoints_hardware_state_restores():
    stats = HardwareStats.from_state({"jobs": 5, "circuits": 10, "shots": 200, "cost_usd": 1.5,
                                      "latencies_s": [0.1], "busy_s": 0.1, "eval_jobs": []})
    assert (stats.jobs, stats.circuits, stats.shots) == (5, 10, 200)
    assert stats.summary().cost_usd is None  # dollars are the ledger's
