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
    """Mean Hellinger fidelity against dollars per 1,000 shots, with the shot-noise floor."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    points = [(r.name, float(r.cost_per_1k_shots_usd), r.mean("hellinger_fidelity"))
              for r in report.providers
              if r.mean("hellinger_fidelity") is not None and r.cost_per_1k_shots_usd is not None]
    for name, price, fid in points:
        ax.scatter([price], [fid], s=50, zorder=3, label=name)
    floor = [p.hellinger_fidelity for p in report.shot_noise_floor if p.hellinger_fidelity]
    if floor:
        ax.axhline(sum(floor) / len(floor), ls="--", color="grey", lw=1,
                   label="ideal sampler (shot noise)")
    if points or floor:
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(-0.002, max([0.05] + [3 * p[1] for p in points]))
    ax.set_xlabel("USD per 1,000 shots (symlog)")
    ax.set_ylabel("mean Hellinger fidelity")
    ax.set_ylim(min([0.5] + [p[2] - 0.05 for p in points]), 1.02)
    ax.set_title("Fidelity against price")
    return _png(fig)


def run_cost_plot(report: Comparison) -> bytes:
    """Predicted dollars and wall time of the configured run per provider, per method."""
    rows = [r for r in report.providers if r.run_costs]
    fig, (cost_ax, wall_ax) = plt.subplots(1, 2, figsize=(10, 3.4))
    width = 0.38
    for k, method in enumerate(METHODS):
        where = [i + (k - 0.5) * width for i in range(len(rows))]
        found = [r.run_cost(method) for r in rows]
        cost_ax.bar(where, [float(c.cost_usd) if c else 0.0 for c in found], width, label=method)
        wall_ax.bar(where, [c.wall_s / 3600 if c else 0.0 for c in found], width, label=method)
    for ax, label in ((cost_ax, "predicted cost (USD, symlog)"),
                      (wall_ax, "predicted wall time (h, symlog)")):
        ax.set_xticks(range(len(rows)), [r.name for r in rows], rotation=20, ha="right")
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set_ylabel(label)
        if rows:
            ax.legend(fontsize=8)
        if rows and ax is cost_ax and not any(c.cost_usd > 0 for r in rows for c in r.run_costs):
            ax.text(0.5, 0.5, "free at the calibration prices", ha="center",
                    transform=ax.transAxes)
        elif not rows:
            ax.text(0.5, 0.5, "no run-cost prediction\n(pass --config)", ha="center",
                    transform=ax.transAxes)
    fig.suptitle("Predicted cost of the configured training run")
    return _png(fig)


def all_plots(report: Comparison) -> dict[str, bytes]:
    return {"latency": latency_plot(report), "fidelity_price": fidelity_price_plot(report),
            "run_cost": run_cost_plot(report)}


def _log_if_wide(ax, values: list[float]) -> None:
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 100:
        ax.set_yscale("log")
