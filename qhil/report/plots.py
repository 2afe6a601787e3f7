"""The report's plots as PNG bytes (matplotlib, Agg backend, no display needed).

Every plot reads at a glance: log axes whose limits contain every bar and marker, times with
units (ms, s, min, h, d, y) and money as dollars on the ticks, legends outside the data, x labels
that stay readable at 8+ providers, and a "free" / "no data" mark in place of an empty panel.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from qhil.report.model import Comparison, ProviderRow, RunRow  # noqa: E402

METHODS = ("qtdnn", "parameter-shift")
METHOD_COLOURS = {"qtdnn": "tab:blue", "parameter-shift": "tab:orange"}
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">")
LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False, "fontsize": 9}


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def time_label(seconds: float, _pos: object = None) -> str:
    """A tick: 500 us, 20 ms, 3 s, 10 min, 2 h, 4 d, 7 y."""
    for unit, size in (("y", 365.25 * 86400), ("d", 86400), ("h", 3600), ("min", 60), ("s", 1),
                       ("ms", 1e-3)):
        if seconds >= size:
            value = seconds / size
            return f"{value:,.0f} {unit}" if value >= 1000 else f"{value:.3g} {unit}"
    return f"{seconds * 1e6:.3g} us"


def money_label(usd: float, _pos: object = None) -> str:
    """A tick: $0.01, $5, $20k, $3M, $1.2B."""
    for suffix, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if usd >= size:
            value = usd / size
            return f"${value:,.0f}{suffix}" if value >= 1000 else f"${value:.3g}{suffix}"
    return f"${usd:.3g}" if usd >= 0.01 else f"${usd:.2g}"


def _provider_axis(ax, names: list[str]) -> None:
    """Provider names under their positions, rotated so that 8+ of them stay readable."""
    ax.set_xticks(range(len(names)), names, rotation=35 if len(names) > 3 else 0,
                  ha="right" if len(names) > 3 else "center", fontsize=9)
    ax.set_xlim(-0.6, len(names) - 0.4)


# ticks a reader knows: 1 ms, 10 ms, 0.1 s, 1 s, 10 s, 1 min, 10 min, 1 h, 1 d, 10 d, 1 y, 10 y...
NICE_TIMES_S = (1e-4, 1e-3, 1e-2, 0.1, 1, 10, 60, 600, 3600, 86400, 864000,
                365.25 * 86400, 3652.5 * 86400, 36525 * 86400, 365250 * 86400)


def _log_axis(ax, values: list[float], formatter) -> None:
    """A log y axis from below the smallest positive value to above the largest (so every bar
    top and marker sits inside), ticked with `formatter` (times at NICE_TIMES_S)."""
    positive = [v for v in values if v > 0]
    if not positive:
        return
    low = 10 ** math.floor(math.log10(min(positive)) - 0.3)
    high = 10 ** math.ceil(math.log10(max(positive)) + 0.3)
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    nice = [t for t in NICE_TIMES_S if low <= t <= high]
    if formatter is time_label and len(nice) >= 3:
        ax.yaxis.set_major_locator(FixedLocator(nice[:: max(1, len(nice) // 8)]))
    else:
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax.yaxis.set_major_formatter(FuncFormatter(formatter))
    ax.yaxis.set_minor_formatter(NullFormatter())


def latency_plot(report: Comparison) -> bytes:
    """Round trip per provider: a box of the measured jobs, or the predicted p50 and p95."""
    rows = [r for r in report.providers if r.latency is not None]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.9 * len(rows) + 3), 3.6))
    values: list[float] = []
    drawn = set()
    for i, row in enumerate(rows):
        lat = row.latency
        if lat.round_trip_s:
            ax.boxplot([lat.round_trip_s], positions=[i], widths=0.5, manage_ticks=False)
            values += list(lat.round_trip_s)
            drawn.add("measured")
        elif lat.round_trip_s_p50 is not None:
            p95 = lat.round_trip_s_p95 or lat.round_trip_s_p50
            ax.plot([i], [lat.round_trip_s_p50], "o", color="tab:orange",
                    label=None if "p50" in drawn else "predicted p50")
            ax.plot([i], [p95], "^", color="tab:red", label=None if "p50" in drawn else "predicted p95")
            ax.vlines(i, lat.round_trip_s_p50, p95, color="tab:orange")
            values += [lat.round_trip_s_p50, p95]
            drawn.add("p50")
    if not values:
        ax.text(0.5, 0.5, "no latency measured or predicted", ha="center", transform=ax.transAxes)
    _provider_axis(ax, [r.name for r in rows])
    _log_axis(ax, values, time_label)
    if "measured" in drawn:
        ax.plot([], [], "s", color="black", fillstyle="none", label="measured jobs (box: quartiles)")
    if drawn:
        ax.legend(**LEGEND)
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylabel("round trip per job")
    ax.set_title("Job latency per provider")
    return _png(fig)


def fidelity_price_plot(report: Comparison) -> bytes:
    """Mean Hellinger fidelity against dollars per 1,000 shots; free providers in their own
    column at the left; each provider its own colour and marker (the legend, outside the axes,
    names them), providers on the same spot drawn as nested markers, the later ones smaller."""
    points = [(r.name, float(r.cost_per_1k_shots_usd), r.mean("hellinger_fidelity"))
              for r in report.providers
              if r.mean("hellinger_fidelity") is not None and r.cost_per_1k_shots_usd is not None]
    paid = [p for p in points if p[1] > 0]
    low = min([p[1] for p in paid], default=1.0)
    free_x = 10 ** (math.floor(math.log10(low)) - 1)  # a column left of every paid provider
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    colours = plt.get_cmap("tab10").colors
    for group in _same_spot([(n, p if p > 0 else free_x, f) for n, p, f in points]):
        for depth, (k, name, x, fid) in enumerate(group):
            ax.scatter([x], [fid], s=140 / (1 + depth), marker=MARKERS[k % len(MARKERS)],
                       color=colours[k % len(colours)], edgecolors="black", linewidths=0.6,
                       zorder=3 + depth, label=name)
    floor = [p.hellinger_fidelity for p in report.shot_noise_floor if p.hellinger_fidelity]
    if floor:
        ax.axhline(sum(floor) / len(floor), ls="--", color="grey", lw=1,
                   label="ideal sampler (shot noise)")
    ax.set_xscale("log")
    ax.set_xlim(free_x / 3, max([low * 30] + [10 * p[1] for p in paid]))
    decades = range(int(math.log10(free_x)) + 1, int(math.log10(ax.get_xlim()[1])) + 1)
    ax.xaxis.set_major_locator(FixedLocator([free_x, *(10.0 ** e for e in decades)]))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, pos: "free" if math.isclose(v, free_x) else money_label(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("USD per 1,000 shots (log; free providers in the left column)")
    ax.set_ylabel("mean Hellinger fidelity")
    ax.set_ylim(min([0.9] + [p[2] - 0.02 for p in points]), 1.01)
    ax.grid(alpha=0.3)
    if points or floor:
        ax.legend(**LEGEND)
    else:
        ax.text(0.5, 0.5, "no fidelity measured or predicted", ha="center", transform=ax.transAxes)
    ax.set_title("Fidelity against price")
    return _png(fig)


def _same_spot(points: list[tuple[str, float, float]]) -> list[list[tuple[int, str, float, float]]]:
    """Points grouped where they would hide one another (within 5% in price, 0.003 in fidelity)."""
    groups: list[list[tuple[int, str, float, float]]] = []
    for k, (name, x, fid) in enumerate(points):
        home = next((g for g in groups if abs(math.log10(g[0][2] / x)) < 0.02
                     and abs(g[0][3] - fid) < 0.003), None)
        if home is None:
            groups.append([(k, name, x, fid)])
        else:
            home.append((k, name, x, fid))
    return groups


def run_cost_plot(report: Comparison) -> bytes:
    """Predicted dollars and wall time of the configured run per provider, per method; a
    provider whose run is free says so instead of an empty column."""
    rows = [r for r in report.providers if r.run_costs]
    fig, (cost_ax, wall_ax) = plt.subplots(1, 2, figsize=(max(10.0, 1.1 * len(rows) + 4), 4.0))
    if not rows:
        for ax in (cost_ax, wall_ax):
            ax.text(0.5, 0.5, "no run-cost prediction\n(pass --config)", ha="center",
                    transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
    else:
        _method_bars(cost_ax, rows, lambda c: float(c.cost_usd), money_label, "free")
        _method_bars(wall_ax, rows, lambda c: c.wall_s, time_label, "0 s")
        cost_ax.set_ylabel("predicted cost (USD, log)")
        wall_ax.set_ylabel("predicted wall time (log)")
        wall_ax.legend(**LEGEND)
    fig.suptitle("Predicted cost of the configured training run")
    fig.tight_layout()
    return _png(fig)


def _method_bars(ax, rows: list[ProviderRow], value, formatter, zero_text: str) -> None:
    width = 0.38
    values = [value(c) for r in rows for c in r.run_costs if c.method in METHODS]
    positive = [v for v in values if v > 0]
    floor = 10 ** math.floor(math.log10(min(positive)) - 0.3) if positive else 1.0
    labelled: set[str] = set()
    for k, method in enumerate(METHODS):
        for i, row in enumerate(rows):
            cost = row.run_cost(method)
            x = i + (k - 0.5) * width
            v = value(cost) if cost else 0.0
            if v > 0:
                ax.bar([x], [v - floor], width, bottom=floor, color=METHOD_COLOURS[method],
                       label=None if method in labelled else method)
                labelled.add(method)
            elif cost is not None:
                ax.text(x, floor * 1.5, zero_text, rotation=90, ha="center", va="bottom",
                        fontsize=8, color=METHOD_COLOURS[method])
    _provider_axis(ax, [r.name for r in rows])
    _log_axis(ax, values or [1.0], formatter)
    if not positive:
        ax.set_ylim(0.5, 10)
    ax.grid(axis="y", alpha=0.3)


def runs_plot(runs: list[RunRow]) -> bytes:
    """Each --runs folder's evaluation return, with its cost and wall time written beside it."""
    fig, ax = plt.subplots(figsize=(8.5, 0.5 * len(runs) + 1.6))
    names = [f"{r.path}\n({r.provider})" for r in runs]
    values = [r.eval_return_mean if r.eval_return_mean is not None else 0.0 for r in runs]
    ax.barh(range(len(runs)), values, color="tab:blue")
    for i, r in enumerate(runs):
        cost = "-" if r.cost_usd is None else money_label(r.cost_usd) if r.cost_usd else "free"
        wall = "-" if r.wall_s is None else time_label(r.wall_s)
        text = "no evaluation" if r.eval_return_mean is None else f"{r.eval_return_mean:,.1f}"
        ax.annotate(f"{text}  ({cost}, {wall})", (0, i), textcoords="offset points",
                    xytext=(4, 0), va="center", fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    low, high = min(values + [0.0]), max(values + [0.0])
    ax.set_xlim(low - 0.05 * (high - low or 1), high + 0.45 * (high - low or 1))
    ax.set_yticks(range(len(runs)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("evaluation return (mean over the run's evaluation episodes)")
    ax.set_title("Training runs (--runs): return, cost and wall time")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def all_plots(report: Comparison) -> dict[str, bytes]:
    plots = {"latency": latency_plot(report), "fidelity_price": fidelity_price_plot(report),
             "run_cost": run_cost_plot(report)}
    if report.runs:
        plots["runs"] = runs_plot(report.runs)
    return plots
