"""A sweep's report: one table per metric (each cell's mean, 95% CI and seed count), learning
curves with 95% confidence bands (curves.png), and report.{md,html,json} in the sweep folder.

    paths = write_sweep_report(folder, plan)
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path
from typing import Any

from qhil.files import write_text_atomic
from qhil.report.render import CSS, html_plot, html_table, markdown_table
from qhil.report.tables import DASH, Table, number
from qhil.sweep.plan import SweepFolder, SweepPlan
from qhil.sweep.results import METRICS, TrialRun, cells, interval, load_trials, metric_intervals

CURVE_POINTS = 50


def tables(groups: dict[tuple, list[TrialRun]], keys: list[str]) -> list[Table]:
    stats = {cell: metric_intervals(trials) for cell, trials in groups.items()}
    return [Table(name, [*(keys or ["cell"]), "mean", "95% CI", "seeds"],
                  [[*([v for _, v in cell] or ["all"]), *_cells(stats[cell][name])]
                   for cell in groups]) for name in METRICS]


def _cells(s) -> list[str]:
    ci = DASH if s.low is None else f"[{number(s.low)}, {number(s.high)}]"
    return [number(s.mean), ci, str(s.n)]


def curves_png(groups: dict[tuple, list[TrialRun]]) -> bytes | None:
    """Episodic return against steps: each cell's mean over seeds and its 95% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = [(cell, band(trials)) for cell, trials in groups.items()]
    drawn = [(cell, b) for cell, b in drawn if b is not None]
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for cell, (steps, mean, low, high) in drawn:
        label = ", ".join(f"{k}={v}" for k, v in cell) or "all"
        ax.plot(steps, mean, label=label, marker="o" if len(steps) < 3 else None)
        ax.fill_between(steps, low, high, alpha=0.2)
    ax.set(xlabel="environment steps", ylabel="episodic return",
           title="Learning curves: mean over seeds, 95% confidence band")
    ax.legend(fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def band(trials: list[TrialRun]):
    """(steps, mean, low, high) over the seeds' curves on a common step grid (their overlap);
    low = high = mean where a cell has one seed; None when no seed has an episode yet."""
    import numpy as np

    curves = [t.curve for t in trials if t.curve]
    if not curves:
        return None
    start, end = max(c[0][0] for c in curves), min(c[-1][0] for c in curves)
    steps = np.linspace(start, end, CURVE_POINTS if end > start else 1)
    ys = np.array([np.interp(steps, [s for s, _ in c], [r for _, r in c]) for c in curves])
    stats = [interval(list(col)) for col in ys.T]
    mean = np.array([s.mean for s in stats])
    low = np.array([s.mean if s.low is None else s.low for s in stats])
    high = np.array([s.mean if s.high is None else s.high for s in stats])
    return steps, mean, low, high


def report_json(plan: SweepPlan, groups: dict[tuple, list[TrialRun]]) -> dict[str, Any]:
    return {"spec": plan.spec.model_dump(mode="json", exclude={"base"}),
            "trials": plan.trial_count(),
            "cells": [{"values": dict(cell), "seeds": sorted(t.seed for t in trials),
                       "finished": sum(t.summary is not None for t in trials),
                       "metrics": {k: v.to_json() for k, v in metric_intervals(trials).items()}}
                      for cell, trials in groups.items()],
            "runs": [{"path": str(t.path), "seed": t.seed, "finished": t.summary is not None}
                     for ts in groups.values() for t in ts]}


def write_sweep_report(folder: SweepFolder, plan: SweepPlan) -> dict[str, Path]:
    """report.json, report.md, report.html and curves.png in the sweep folder; their paths."""
    keys = plan.spec.swept_keys()
    groups = cells(load_trials(folder, keys))
    data, parts = report_json(plan, groups), tables(groups, keys)
    png = curves_png(groups)
    paths = {k: folder.path / f"report.{k}" for k in ("json", "md", "html")}
    if png is not None:
        paths["png"] = folder.path / "curves.png"
        paths["png"].write_bytes(png)
    head = headline(plan, data)
    write_text_atomic(paths["json"], json.dumps(data, indent=2) + "\n")
    write_text_atomic(paths["md"], sweep_markdown(head, parts, png is not None))
    write_text_atomic(paths["html"], sweep_html(head, parts, png))
    return paths


def headline(plan: SweepPlan, data: dict[str, Any]) -> str:
    finished = sum(c["finished"] for c in data["cells"])
    return (f"{plan.spec.base.env}, {plan.spec.search} sweep over "
            f"{', '.join(plan.spec.swept_keys()) or 'seeds'}; {finished} of {plan.trial_count()} "
            f"trials finished; seeds {', '.join(map(str, plan.spec.seeds))}")


def sweep_markdown(head: str, parts: list[Table], with_curves: bool) -> str:
    lines = ["# qhil sweep", "", head + ".", ""]
    for table in parts:
        lines += markdown_table(table)
    if with_curves:
        lines += ["## Learning curves", "", "![learning curves](curves.png)", ""]
    return "\n".join(lines)


def sweep_html(head: str, parts: list[Table], png: bytes | None) -> str:
    body = [f"<h1>qhil sweep</h1>\n<p class='settings'>{html.escape(head)}.</p>\n"]
    body += [html_table(t) for t in parts]
    body += [html_plot("curves", png)] if png is not None else []
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>qhil sweep</title>"
            f"<style>{CSS}</style></head><body>\n{''.join(body)}</body></html>\n")
