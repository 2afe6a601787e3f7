"""Where a run folder's metric rows go besides metrics.jsonl: TensorBoard event files and a CSV.

`TensorBoardSink` writes each numeric value of a row as a scalar under the same name as in
metrics.jsonl (`charts/episodic_return`, `hw/latency_s`, ...) at the row's step, into event
files in the run folder itself (`tensorboard --logdir runs` shows every run). `write_csv` turns
metrics.jsonl into metrics.csv: one column per metric name, one line per row, empty where a row
has no value. `MetricsFiles` is what every run folder (`qhil train`'s and `qhil qtrl`'s) has in
common: config.toml, metrics.jsonl with its TensorBoard and CSV twins, summary.json.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from qhil.files import append_jsonl, clean, read_jsonl


def scalars(row: Mapping[str, Any], step_key: str) -> dict[str, float]:
    """The row's finite numbers (bools and lists left out), the step itself excluded."""
    out = {}
    for key, value in row.items():
        if key == step_key or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            out[key] = float(value)
    return out


class TensorBoardSink:
    """Event files in `folder`, opened on the first row (torch.utils.tensorboard)."""

    def __init__(self, folder: Path, step_key: str = "step", flush_secs: int = 10):
        self.folder, self.step_key, self.flush_secs = Path(folder), step_key, flush_secs
        self.writer = None

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            step = row.get(self.step_key)
            if step is None:
                continue
            for key, value in scalars(row, self.step_key).items():
                self._writer().add_scalar(key, value, global_step=int(step))

    def _writer(self):
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.folder), flush_secs=self.flush_secs)
        return self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def write_csv(rows: list[Mapping[str, Any]], path: Path, first: str = "step") -> Path:
    """Every row under the union of their keys (`first` leading, the rest in order of appearance);
    lists are written as JSON-like text."""
    columns = list(dict.fromkeys([first, *(k for row in rows for k in row)]))
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    tmp.replace(path)
    return path


class MetricsFiles:
    """The files every run folder has: config.toml, metrics.jsonl (and the same rows as
    TensorBoard event files and metrics.csv, `step_key` the step column), summary.json."""

    def __init__(self, path: str | Path, step_key: str = "step"):
        self.path = Path(path)
        self.step_key = step_key
        self.config_path = self.path / "config.toml"
        self.metrics_path = self.path / "metrics.jsonl"
        self.summary_path = self.path / "summary.json"
        self.csv_path = self.path / "metrics.csv"
        self.tensorboard = TensorBoardSink(self.path, step_key=step_key)

    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        """metrics.jsonl, and the same rows (same names) into the TensorBoard event files."""
        rows = [clean(row) for row in rows]
        append_jsonl(self.metrics_path, rows)
        self.tensorboard.write(rows)

    def read_metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics_path)

    def export_csv(self) -> Path:
        """metrics.csv from metrics.jsonl (one column per metric)."""
        return write_csv(self.read_metrics(), self.csv_path, first=self.step_key)

    def close(self) -> None:
        self.tensorboard.close()
