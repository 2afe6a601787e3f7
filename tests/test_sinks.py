"""TensorBoard event files and metrics.csv carry metrics.jsonl's names and values."""

from __future__ import annotations

import csv

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from qhil.sinks import TensorBoardSink, scalars, write_csv

ROWS = [{"step": 10, "charts/episodic_return": -1200.5, "hw/latency_s": 0.004, "flag": True,
         "returns": [1, 2], "hw/cost_usd": None},
        {"step": 20, "eval/return_mean": -300.0, "eval/return_std": 12.0}]


def test_scalars_keep_finite_numbers_only():
    assert scalars(ROWS[0], "step") == {"charts/episodic_return": -1200.5, "hw/latency_s": 0.004}
    assert scalars({"step": 1, "x": float("nan"), "y": 2}, "step") == {"y": 2.0}


def test_event_files_hold_the_same_names_and_steps(tmp_path):
    sink = TensorBoardSink(tmp_path)
    sink.write(ROWS)
    sink.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert tags == {"charts/episodic_return", "hw/latency_s", "eval/return_mean", "eval/return_std"}
    (point,) = events.Scalars("eval/return_mean")
    assert point.step == 20 and point.value == -300.0


def test_csv_has_a_column_per_metric(tmp_path):
    path = write_csv(ROWS, tmp_path / "metrics.csv")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[0] == "step" and "eval/return_mean" in rows[0]
    assert rows[0]["charts/episodic_return"] == "-1200.5" and rows[0]["eval/return_mean"] == ""
    assert rows[1]["eval/return_std"] == "12.0" and rows[0]["hw/cost_usd"] == ""
