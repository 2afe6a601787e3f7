"""Plots of a run folder: returns.png (episodic and evaluation returns), latency.png (hardware)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_returns(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    episodes = [(r["step"], r["charts/episodic_return"]) for r in rows if "charts/episodic_return" in r]
    evals = [(r["step"], r["eval/return_mean"]) for r in rows if "eval/return_mean" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    if episodes:
        ax.plot(*zip(*episodes, strict=True), ".", alpha=0.4, label="training episodes")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", label="evaluation mean")
    ax.set(xlabel="environment steps", ylabel="return", title=title)
    if episodes or evals:
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_latency(latencies_s: list[float], path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    if latencies_s:
        ax.plot(range(1, len(latencies_s) + 1), latencies_s, ".", markersize=2)
        ax.set_yscale("log")
    ax.set(xlabel="sampling job", ylabel="round trip (s)", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
