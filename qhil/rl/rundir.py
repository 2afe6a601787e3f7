"""The run folder: config.toml, metrics.jsonl (and the same metrics as TensorBoard event files and
metrics.csv), summary.json, transitions.sqlite (the journal), ledger.sqlite, checkpoints/step-*/,
returns.png, latency.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qhil.errors import ConfigError
from qhil.files import write_text_atomic
from qhil.rl.checkpoints import CheckpointStore
from qhil.rl.config import TrainConfig, dump_toml, load_train_config
from qhil.rl.summary import RunSummary
from qhil.sinks import MetricsFiles


class RunFolder(MetricsFiles):
    """Paths and writers of one training run."""

    def __init__(self, path: str | Path):
        super().__init__(path)
        self.checkpoints = self.path / "checkpoints"
        self.journal_path = self.path / "transitions.sqlite"
        self.store = CheckpointStore(self.checkpoints)

    def create(self, config: TrainConfig) -> None:
        """A new run: refuse a folder that already holds a run (use --resume instead)."""
        if self.config_path.exists():
            raise ConfigError(f"{self.path} already holds a run; continue it with "
                              f"'qhil train --resume {self.path}' or pick another --out")
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(dump_toml(config))

    def save_config(self, config: TrainConfig) -> None:
        """The resolved config of a resumed run (e.g. a raised --steps), replaced atomically."""
        write_text_atomic(self.config_path, dump_toml(config))

    def load_config(self) -> TrainConfig:
        if not self.config_path.exists():
            raise ConfigError(f"{self.path} is not a run folder (no config.toml); "
                              f"start one with 'qhil train --out {self.path}'")
        return load_train_config(self.config_path)

    def write_summary(self, summary: RunSummary) -> None:
        write_text_atomic(self.summary_path, json.dumps(summary.to_json(), indent=2) + "\n")

    def has_checkpoint(self) -> bool:
        return self.store.exists()

    def save_checkpoint(self, state: dict[str, Any], step: int) -> Path:
        """The learner's state at `step`, written as a whole (temporary folder, then rename)."""
        return self.store.save(state, step)

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The newest checkpoint that verifies (a corrupt one falls back, warning); None if none."""
        return self.store.load()

    def load_checkpoint_state(self) -> dict[str, Any]:
        """The agent's networks only (for evaluation)."""
        state = self.store.load() or self.store.load_legacy()
        if state is None:
            raise ConfigError(f"{self.path} has no checkpoint; train it first (qhil train --out)")
        return state["td3"]

    def repair_metrics(self) -> None:
        """Drop a last line a killed writer left half written, so appends start on a new line."""
        if not self.metrics_path.is_file():
            return
        data = self.metrics_path.read_bytes()
        if data and not data.endswith(b"\n"):
            self.metrics_path.write_bytes(data[: data.rfind(b"\n") + 1])
