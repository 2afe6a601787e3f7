"""The report's tables as headers + rows of strings, shared by the Markdown and HTML renderers."""

from __future__ import annotations

from dataclasses import dataclass

from qhil.cost.report import usd
from qhil.report.model import Comparison, ProviderRow

DASH = "—"


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]


def seconds(value: float | None) -> str:
    """A duration with its unit: 0.6 ms, 2.3 s, 42.5 min, 10.9 h, 4.19 d, 3.2 y (never 3.3e+03 s)."""
    if value is None:
        return DASH
    for unit, size in (("y", 3600 * 24 * 365), ("d", 3600 * 24), ("h", 3600), ("min", 60)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.3g} s" if value >= 0.1 else f"{value * 1e3:.3g} ms"


def number(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}g}"


def status_table(report: Comparison) -> Table:
    rows = [[r.name, r.kind, r.device or DASH, r.status, r.reason or DASH] for r in report.providers]
    return Table("Providers", ["provider", "kind", "device", "status", "reason"], rows)


def latency_table(report: Comparison) -> Table:
    def cells(r: ProviderRow) -> list[str]:
        lat = r.latency
        if lat is None:
            return [r.name] + [DASH] * 8
        return [r.name, seconds(lat.queue_s_p50), seconds(lat.queue_s_p95),
                seconds(lat.execution_s_p50), seconds(lat.execution_s_p95),
                seconds(lat.round_trip_s_p50), seconds(lat.round_trip_s_p95),
                number(r.circuits_per_s), number(r.shots_per_s)]
    headers = ["provider", "queue p50", "queue p95", "exec p50", "exec p95", "round trip p50",
               "round trip p95", "circuits/s", "shots/s"]
    return Table("Latency and throughput (per job)", headers, [cells(r) for r in report.providers])


def fidelity_table(report: Comparison) -> Table:
    probes = list(dict.fromkeys(p.probe for r in report.providers for p in r.probes))
    headers = ["provider", "mean Hellinger", "mean TVD", "mean marginal MAE"]
    headers += [f"{p} Hellinger / MAE" for p in probes]
    floor = ProviderRow(name="(ideal sampler: shot-noise floor)", probes=report.shot_noise_floor)
    rows = [_fidelity_cells(r, probes) for r in report.providers]
    if report.shot_noise_floor:
        rows.append(_fidelity_cells(floor, probes))
    return Table("Fidelity against the exact distribution", headers, rows)


def _fidelity_cells(r: ProviderRow, probes: list[str]) -> list[str]:
    by_name = {p.probe: p for p in r.probes}
    cells = [r.name, number(r.mean("hellinger_fidelity")), number(r.mean("tvd")),
             number(r.mean("marginal_mae"))]
    return cells + [f"{number(by_name[p].hellinger_fidelity)} / {number(by_name[p].marginal_mae)}"
                    if p in by_name else DASH for p in probes]


def cost_table(report: Comparison) -> Table:
    headers = ["provider", "USD / 1k shots", "probes cost", "qtDNN wall", "qtDNN cost",
               "param-shift wall", "param-shift cost", "note"]
    rows = []
    for r in report.providers:
        qt, ps = r.run_cost("qtdnn"), r.run_cost("parameter-shift")
        rows.append([r.name, usd(r.cost_per_1k_shots_usd), usd(r.probe_cost_usd),
                     seconds(qt.wall_s) if qt else DASH, usd(qt.cost_usd) if qt else DASH,
                     seconds(ps.wall_s) if ps else DASH, usd(ps.cost_usd) if ps else DASH,
                     r.run_cost_note or DASH])
    return Table("Price and predicted training-run cost", headers, rows)


def runs_table(report: Comparison) -> Table:
    rows = [[r.path, r.provider, f"{r.eval_return_mean:,.1f}" if r.eval_return_mean is not None
             else DASH, usd(r.cost_usd), seconds(r.wall_s), number(r.return_per_usd, 4),
             number(r.return_per_hour, 4), r.note or DASH]
            for r in report.runs]
    return Table("Training runs", ["run", "provider", "eval return", "cost", "wall",
                                   "return / USD", "return / hour", "note"], rows)


def all_tables(report: Comparison) -> list[Table]:
    tables = [status_table(report), latency_table(report), fidelity_table(report),
              cost_table(report)]
    return tables + ([runs_table(report)] if report.runs else [])
