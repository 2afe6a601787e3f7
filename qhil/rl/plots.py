"""Plots of a run folder: returns.png (episodic and evaluation returns), latency.png (hardware),
fidelity.png (the gradient-fidelity checks, when the run made any)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402


def smooth(values: list[float], window: int) -> list[float]:
    """Trailing running mean over `window` points (shorter at the start)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def smoothing_window(count: int) -> int:
    """About an eighth of the points, at least 1, at most 50."""
    return max(1, min(50, round(count / 8)))


def plot_returns(rows: list[dict[str, Any]], path: Path, title: str,
                 references: dict[str, float] | None = None) -> None:
    """Training returns (raw episodes faint, a running mean over them), evaluations with a
    +/- std error bar, and optional reference lines (e.g. a random policy's return)."""
    episodes = [(r["step"], r["charts/episodic_return"]) for r in rows if "charts/episodic_return" in r]
    evals = [(r["step"], r["eval/return_mean"], r.get("eval/return_std") or 0.0)
             for r in rows if r.get("eval/return_mean") is not None]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    if episodes:
        steps, values = (list(v) for v in zip(*episodes, strict=True))
        window = smoothing_window(len(values))
        ax.plot(steps, values, ".", color="tab:blue", alpha=0.25, markersize=4,
                label="training episodes")
        ax.plot(steps, smooth(values, window), "-", color="tab:blue", linewidth=2,
                label=f"training, running mean of {window}")
    if evals:
        steps, means, stds = zip(*evals, strict=True)
        ax.errorbar(steps, means, yerr=stds, fmt="o-", color="tab:orange", capsize=4,
                    linewidth=1.5, label="evaluation mean +/- std")
    for (label, value), style in zip((references or {}).items(), ("--", ":", "-."), strict=False):
        ax.axhline(value, color="grey", linestyle=style, linewidth=1.2, label=f"{label} ({value:,.0f})")
    ax.set(xlabel="environment steps", ylabel="episode return", title=title)
    ax.grid(alpha=0.3)
    if episodes or evals:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    else:
        ax.text(0.5, 0.5, "no episode finished yet", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_latency(latencies_s: list[float], path: Path, title: str,
                 eval_jobs: list[int] | None = None,
                 learner_latencies_s: list[float] | None = None) -> bool:
    """Round trip per job in ms, exploration and evaluation jobs coloured apart, with the p50 and
    p95 of those jobs (the ones the environments wait for); the learner's own jobs (gradient
    methods that send circuits) against their own count. Returns False (and writes nothing) when
    the run sent no job (fc, rbg, zeros)."""
    learner = list(learner_latencies_s or [])
    if not latencies_s and not learner:
        return False
    evals = set(eval_jobs or [])
    ms = [1e3 * v for v in latencies_s]
    groups = (("exploration", [(i + 1, v) for i, v in enumerate(ms) if i not in evals], "tab:blue"),
              ("evaluation", [(i + 1, v) for i, v in enumerate(ms) if i in evals], "tab:orange"),
              ("learner (gradient circuits)",
               [(i + 1, 1e3 * v) for i, v in enumerate(learner)], "tab:green"))
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, points, colour in groups:
        if points:
            ax.plot(*zip(*points, strict=True), ".", markersize=2, color=colour,
                    label=f"{label} ({len(points):,} jobs)")
    for q, style in ((50, "--"), (95, ":")):
        if ms:
            value = float(np.percentile(ms, q))
            ax.axhline(value, color="black", linestyle=style, linewidth=1,
                       label=f"p{q} {value:.2f} ms")
    every = ms + [1e3 * v for v in learner]
    if max(every) / max(min(every), 1e-9) > 100:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set(xlabel="job number (exploration and evaluation in the order sent; learner its own)"
           if learner else "sampling job (in the order sent)", ylabel="round trip (ms)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False,
              markerscale=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True


FIDELITY_CURVES = (("surrogate/grad_cosine", "PreDNN-gradient cosine"),
                   ("surrogate/pqc_grad_cosine", "gradient cosine through the PQC"),
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
    for (label, points), colour in zip(curves, ("tab:blue", "tab:green", "tab:orange"), strict=True):
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
