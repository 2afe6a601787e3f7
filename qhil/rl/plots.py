"""Plots of a run folder: returns.png (episodic and evaluation returns), latency.png (hardware),
fidelity.png (the gradient-fidelity checks, when the run made any)."""

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


FIDELITY_CURVES = (("surrogate/grad_cosine", "PreDNN-gradient cosine"),
                   ("surrogate/jacobian_cosine", "Jacobian cosine (per sample)"))


def plot_fidelity(rows: list[dict[str, Any]], path: Path, title: str,
                  warn_below: float | None = None) -> bool:
    """Cosines against the exact gradient over the run (a running median over 5 checks drawn
    over the raw checks); returns False (and writes nothing) when the run made no check."""
    curves = [(label, [(r["step"], r[key]) for r in rows if r.get(key) is not None])
              for key, label in FIDELITY_CURVES]
    if not any(points for _, points in curves):
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    for (label, points), colour in zip(curves, ("tab:blue", "tab:orange"), strict=True):
        if points:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, ".", color=colour, alpha=0.3)
            ax.plot(steps, _running_median(values, 5), "-", color=colour, label=label)
    if warn_below is not None:
        ax.axhline(warn_below, color="grey", linestyle="--", linewidth=1, label="warning level")
    ax.set(xlabel="environment steps", ylabel="cosine with the exact gradient", ylim=(-1.05, 1.05),
           title=title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _running_median(values: tuple[float, ...], width: int) -> list[float]:
    import statistics

    return [statistics.median(values[max(0, i - width + 1):i + 1]) for i in range(len(values))]
