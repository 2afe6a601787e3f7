"""The run folder: config.toml, metrics.jsonl, summary.json, checkpoints/, returns.png, agents/."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from qhil.config import load_toml, validation_message
from qhil.errors import ConfigError
from qhil.files import (
    plain_data,
    toml_text,
    torch_load_safe,
    torch_save_atomic,
    write_text_atomic,
)
from qhil.qtrl.config import QTRLConfig
from qhil.sinks import MetricsFiles


class QTRLRunFolder(MetricsFiles):
    """Paths and writers of one qtrl run (config.toml, metrics.jsonl, summary.json as every run
    folder has them; checkpoints/latest.pt, returns.png, agents/); only agent 0 writes the
    shared files."""

    def __init__(self, root: str | Path):
        super().__init__(root, step_key="episode")
        self.root = self.path
        self.checkpoint = self.root / "checkpoints" / "latest.pt"
        self.plot_path = self.root / "returns.png"

    def agent_file(self, rank: int) -> Path:
        return self.root / "agents" / f"rank-{rank}.json"

    def create(self, config: QTRLConfig) -> None:
        (self.root / "checkpoints").mkdir(parents=True, exist_ok=True)
        (self.root / "agents").mkdir(exist_ok=True)
        self.config_path.write_text(toml_text(config.model_dump()))

    def read_config(self) -> QTRLConfig:
        if not self.config_path.is_file():
            raise ConfigError(f"--resume {self.root}: no config.toml there; is it a qtrl run folder?")
        values = load_toml(self.config_path)
        if "block" in values or "td3" in values:
            raise ConfigError(f"--resume {self.root}: this is a `qhil train` run (hDQNN-TD3), "
                              f"not a qtrl run; continue it with 'qhil train --resume {self.root}'")
        values.setdefault("entangler", "cz")  # folders written before the CU3 circuit ran the CZ ring
        try:
            return QTRLConfig(**values)
        except ValidationError as exc:
            raise ConfigError(validation_message(self.config_path, exc)) from None

    def save_checkpoint(self, state: dict) -> None:
        torch_save_atomic(self.checkpoint, plain_data(state))  # what torch_load_safe reads

    def load_checkpoint(self) -> dict | None:
        if not self.checkpoint.is_file():
            return None
        return torch_load_safe(self.checkpoint, self.checkpoint)

    def truncate_metrics(self, episodes_done: int) -> None:
        """Keep only rows a checkpoint covers (a resumed run re-plays the rest)."""
        rows = [r for r in self.read_metrics() if r["episode"] <= episodes_done]
        self.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def write_json(self, path: Path, data: dict) -> None:
        write_text_atomic(path, json.dumps(data, indent=2))

    def plot(self, title: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from qhil.rl.plots import smooth, smoothing_window

        rows = self.read_metrics()
        episodes, returns = [r["episode"] for r in rows], [r["return_mean"] for r in rows]
        window = smoothing_window(len(returns))
        fig, ax = plt.subplots(figsize=(7.5, 4))
        ax.plot(episodes, returns, ".", color="tab:blue", alpha=0.25, markersize=3,
                label="episodes (mean over agents)")
        ax.plot(episodes, smooth(returns, window), "-", color="tab:blue", lw=2,
                label=f"running mean of {window}")
        ax.set(xlabel="episode (per agent)", ylabel="return", title=title)
        ax.grid(alpha=0.3)
        if rows:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
        fig.tight_layout()
        fig.savefig(self.plot_path, dpi=100)
        plt.close(fig)

