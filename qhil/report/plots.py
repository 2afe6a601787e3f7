"""The report's plots as PNG bytes (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from qhil.report.model import Comparison  # noqa: E402

METHODS = ("qtdnn", "parameter-shift")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def latency_plot(report: Comparison) -> bytes:
    """Round-trip latency per provider: a box of the measured jobs, or the predicted p50-p95."""
    rows = [r for r in report.providers if r.latency is not None]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for i, row in enumerate(rows):
        lat = row.latency
        if lat.round_trip_s:
            ax.boxplot([lat.round_trip_s], positions=[i], widths=0.5)
        elif lat.round_trip_s_p50 is not None:
            ax.plot([i, i], [lat.round_trip_s_p50, lat.round_trip_s_p95], "o-", color="tab:orange")
    ax.set_xticks(range(len(rows)), [r.name for r in rows], rotation=20, ha="right")
    _log_if_wide(ax, [v for r in rows for v in (r.latency.round_trip_s or
                                               [r.latency.round_trip_s_p50 or 0])])
    ax.set_ylabel("round trip per job (s)")
    ax.set_title("Job latency per provider")
    return _png(fig)


def fidelity_price_plot(report: Comparison) -> bytes:
    """Mean Hellinger fidelity (or 1 - marginal error) against dollars per 1,000 shots."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for row in report.providers:
        fid = row.mean("hellinger_fidelity")
        if fid is None or row.cost_per_1k_shots_usd is None:
            continue
        price = float(row.cost_per_1k_shots_usd)
        ax.scatter([price], [fid], s=50)
        ax.annotate(row.name, (price, fid), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlabel("USD per 1,000 shots")
    ax.set_ylabel("mean Hellinger fidelity")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("Fidelity against price")
    return _png(fig)


def run_cost_plot(report: Comparison) -> bytes:
    """Predicted dollars of the configured run per provider, qtDNN beside parameter-shift."""
    rows = [r for r in report.providers if r.run_costs]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    width = 0.38
    for k, method in enumerate(METHODS):
        values = [float(r.run_cost(method).cost_usd) if r.run_cost(method) else 0.0 for r in rows]
        ax.bar([i + (k - 0.5) * width for i in range(len(rows))], values, width, label=method)
    ax.set_xticks(range(len(rows)), [r.name for r in rows], rotation=20, ha="right")
    if any(c.cost_usd > 0 for r in rows for c in r.run_costs):
        ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylabel("predicted run cost (USD)")
    ax.set_title("Predicted cost of the configured training run")
    ax.legend(fontsize=8)
    if not rows:
        ax.text(0.5, 0.5, "no run-cost prediction (pass --config)", ha="center",
                transform=ax.transAxes)
    return _png(fig)


def all_plots(report: Comparison) -> dict[str, bytes]:
    return {"latency": latency_plot(report), "fidelity_price": fidelity_price_plot(report),
            "run_cost": run_cost_plot(report)}


def _log_if_wide(ax, values: list[float]) -> None:
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 100:
        ax.set_yscale("log")
