"""The report's plots: axes that contain their bars, units on the ticks, free runs marked, a
plot for --runs, and return-per-dollar only where it means something."""

from __future__ import annotations

from decimal import Decimal

import matplotlib.pyplot as plt

from qhil.report.model import Comparison, ProviderRow, RunCost
from qhil.report.plots import _method_bars, all_plots, money_label, time_label
from qhil.report.runs import run_row
from qhil.report.tables import seconds
from qhil.rl.summary import RunSummary


def rows(n: int = 8) -> list[ProviderRow]:
    out = [ProviderRow(name="local-free", run_costs=[RunCost("qtdnn", 0.0, Decimal(0)),
                                                      RunCost("parameter-shift", 0.0, Decimal(0))])]
    for i in range(1, n):
        out.append(ProviderRow(name=f"braket-provider-with-a-long-name-{i}", run_costs=[
            RunCost("qtdnn", 60.0 * 10 ** i, Decimal(10) ** i),
            RunCost("parameter-shift", 39240.0 * 10 ** i, Decimal(394.5) * 10 ** i)]))
    return out


def test_bars_sit_inside_their_log_axis_and_free_runs_are_marked():
    fig, ax = plt.subplots()
    data = rows()
    _method_bars(ax, data, lambda c: c.wall_s, time_label, "0 s")
    top = max(c.wall_s for r in data for c in r.run_costs)
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "log" and high >= 2 * top and 0 < low <= 600.0  # the smallest bar, 600 s
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("0 s") == 2  # local-free, both methods: said, not an empty column
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any(label.endswith((" h", " d", " y")) for label in labels)
    assert all("e+" not in label for label in labels)
    plt.close(fig)


def test_tick_labels_carry_units_and_dollars():
    assert [time_label(v) for v in (0.002, 3.0, 600, 39240, 86400 * 4, 86400 * 800)] == \
        ["2 ms", "3 s", "10 min", "10.9 h", "4 d", "2.19 y"]
    assert [money_label(v) for v in (0.004, 5, 394.5, 20_000, 3e6, 1.2e9)] == \
        ["$0.004", "$5", "$394", "$20k", "$3M", "$1.2B"]
    assert seconds(3300) == "55 min" and seconds(39240) == "10.9 h"


def test_a_runs_plot_only_with_runs_and_ratios_only_for_positive_returns():
    report = Comparison(settings={}, providers=rows(3))
    assert set(all_plots(report)) == {"latency", "fidelity_price", "run_cost"}
    negative = run_row("runs/a", RunSummary.model_validate(
        {"eval_return_mean": -150.0, "hw": {"cost_usd": 2.0}, "wall_s": 3600.0, "provider": "x"}))
    positive = run_row("runs/b", RunSummary.model_validate(
        {"eval_return_mean": 300.0, "hw": {"cost_usd": 2.0}, "wall_s": 3600.0, "provider": "x"}))
    assert negative.return_per_usd is None and negative.return_per_hour is None
    assert "return <= 0" in negative.note
    assert positive.return_per_usd == 150.0 and positive.return_per_hour == 300.0
    report.runs = [negative, positive]
    plots = all_plots(report)
    assert set(plots) == {"latency", "fidelity_price", "run_cost", "runs"}
    assert plots["runs"].startswith(b"\x89PNG")
