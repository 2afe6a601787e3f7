"""report.json, report.md and a self-contained report.html (plots embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from qhil.files import write_text_atomic
from qhil.report.model import Comparison
from qhil.report.plots import all_plots
from qhil.report.tables import Table, all_tables

PLOT_TITLES = {"latency": "Latency distribution per provider",
               "fidelity_price": "Fidelity against price",
               "run_cost": "Predicted run cost per provider",
               "runs": "Training runs: evaluation return, cost and wall time",
               "curves": "Learning curves: mean over seeds, 95% confidence band"}

TEXT_COLUMNS = {"provider", "kind", "device", "status", "reason", "note", "run"}

CSS = """body{font-family:sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #bbb;padding:3px 8px;
font-size:13px;text-align:right}th{background:#e8eef6}td:first-child,th:first-child{text-align:left}
td.text{text-align:left}img{max-width:100%;display:block;margin:6px 0 18px}.settings{font-size:13px;color:#555}"""


def write_report(report: Comparison, out_dir: Path) -> dict[str, Path]:
    """Write the three files; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = all_tables(report)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md",
             "html": out_dir / "report.html"}
    texts = {"json": json.dumps(report.to_json(), indent=2) + "\n",
             "md": markdown(report, tables), "html": html_page(report, tables, all_plots(report))}
    for key, text in texts.items():  # every file whole or not at all, the json first
        write_text_atomic(paths[key], text)
    return paths


def _settings_line(report: Comparison) -> str:
    return ", ".join(f"{k}={v}" for k, v in report.settings.items())


def markdown(report: Comparison, tables: list[Table]) -> str:
    lines = ["# qhil provider comparison", "", f"Generated {report.generated_at}. "
             f"Settings: {_settings_line(report)}.", ""]
    for table in tables:
        lines += markdown_table(table)
    lines.append("Plots: see report.html.")
    return "\n".join(lines) + "\n"


def markdown_table(table: Table) -> list[str]:
    """A table as Markdown lines under its `##` title, with a blank line after."""
    lines = [f"## {table.title}", "", "| " + " | ".join(table.headers) + " |",
             "|" + "---|" * len(table.headers)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table.rows]
    return [*lines, ""]


def html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    kinds = ["text" if h in TEXT_COLUMNS else "num" for h in table.headers]
    body = "".join("<tr>" + "".join(f"<td class='{k}'>{html.escape(c)}</td>"
                                    for k, c in zip(kinds, row, strict=True)) + "</tr>"
                   for row in table.rows)
    return (f"<h2>{html.escape(table.title)}</h2>\n<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>\n")


def html_plot(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    title = html.escape(PLOT_TITLES.get(name, name))
    return (f'<h2>{title}</h2>\n<img id="plot-{name}" alt="{title}" '
            f'src="data:image/png;base64,{data}">\n')


def html_page(report: Comparison, tables: list[Table], plots: dict[str, bytes]) -> str:
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>qhil compare</title>"
             f"<style>{CSS}</style></head><body>\n<h1>qhil provider comparison</h1>\n"
             f"<p class='settings'>Generated {html.escape(report.generated_at)}. Settings: "
             f"{html.escape(_settings_line(report))}.</p>\n"]
    parts += [html_table(t) for t in tables]
    parts += [html_plot(name, png) for name, png in plots.items()]
    parts.append("</body></html>\n")
    return "".join(parts)
