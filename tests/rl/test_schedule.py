"""The loop's schedule: callbacks by steps or wall time, and one Schedule for loop and cost model."""

from __future__ import annotations

from qhil.cost.workload import Workload
from qhil.rl.loop import Every
from qhil.rl.schedule import Schedule
from tests.rl.conftest import tiny_config


def test_every_fires_by_steps_or_by_seconds_whichever_first():
    now = [0.0]
    fired: list[int] = []
    every = Every(lambda: fired.append(len(fired)), steps=100, seconds=30.0, after=150,
                  clock=lambda: now[0])
    every(199)
    assert fired == []  # next by steps is 200; 0 s passed
    every(200)
    now[0] = 10.0
    every(250)
    now[0] = 45.0
    every(260)  # 35 s since the last one: due by time
    every(299)
    every(300)
    assert len(fired) == 3


def test_schedule_gives_the_loop_and_the_cost_model_the_same_counts():
    config = tiny_config(steps=301).with_overrides(**{"eval.every_steps": 100})
    schedule = Schedule.of(config)
    assert schedule.vector_steps == 151  # 301 transitions over 2 envs
    assert schedule.updates_owed(50) == 0 and schedule.updates_owed(60) == 10
    assert schedule.evaluation_steps() == [100, 200, 300] and schedule.evaluations == 4  # 301
    workload = Workload.from_train(config)
    assert (workload.env_steps, workload.updates) == (151, schedule.updates)
    assert workload.eval_episodes == config.eval.episodes * 4


def test_a_metrics_sink_receives_the_rows_metrics_jsonl_gets(tmp_path):
    from qhil.execution.registry import get_provider
    from qhil.rl.run import run_training as train
    from qhil.rl.rundir import RunFolder

    rows: list[dict] = []
    config = tiny_config(block="fc", steps=120).with_overrides(**{"eval.final": False})
    folder = RunFolder(tmp_path / "run")
    with get_provider("local") as provider:
        train(config, folder, provider, sinks=[rows.extend])
    assert rows and rows == folder.read_metrics()[: len(rows)]
    assert any("charts/SPS" in row for row in rows)


def test_an_evaluation_due_at_the_last_step_is_the_final_one_only():
    schedule = Schedule.of(tiny_config(steps=200).with_overrides(**{"eval.every_steps": 100}))
    assert schedule.evaluation_steps() == [100] and schedule.evaluations == 2
    assert [schedule.evaluation_due(n) for n in (98, 100, 150, 200, 202)] == [None, 100, 100,
                                                                               None, None]
    assert Schedule.of(tiny_config(steps=200).with_overrides(**{"eval.final": False})).evaluations == 0


def test_a_run_evaluates_once_at_its_last_step_and_estimate_counts_the_same(tmp_path, capsys):
    """every_steps divides steps: the periodic evaluation at the last step is not bought on top
    of the final one; the ledger's jobs are what `qhil estimate` predicted for the config."""
    import json

    import pytest

    from qhil.cli import main
    from qhil.execution.ledger import Ledger
    from qhil.files import read_jsonl
    from qhil.rl.config import dump_toml

    path = tmp_path / "run.toml"
    path.write_text(dump_toml(tiny_config(steps=200).with_overrides(**{"eval.every_steps": 100})))
    outputs = []
    for argv in (["estimate", "--config", str(path), "--json"],
                 ["train", "--config", str(path), "--out", str(tmp_path / "run")]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
        outputs.append(capsys.readouterr().out)
    predicted = json.loads(outputs[0])["qtdnn"]["jobs"]
    steps = [row["step"] for row in read_jsonl(tmp_path / "run" / "metrics.jsonl")
             if "eval/return_mean" in row]
    assert steps == [100, 200]
    with Ledger(tmp_path / "run" / "ledger.sqlite") as ledger:
        assert ledger.totals().jobs == predicted
