"""Finished training runs (--runs DIR ...): evaluation return, per dollar and per hour."""

from __future__ import annotations

from pathlib import Path

from qhil.report.model import RunRow
from qhil.rl.summary import RunSummary


def load_run(run_dir: str | Path) -> RunRow:
    """Read RUN_DIR/summary.json; a missing or unreadable summary is a ConfigError (exit 2)."""
    return run_row(str(run_dir), RunSummary.read(Path(run_dir) / "summary.json"))


def run_row(path: str, summary: RunSummary) -> RunRow:
    ret, cost, wall = summary.eval_return_mean, summary.hw.cost_usd, summary.wall_s
    meaningful = ret is not None and ret > 0  # a ratio of a negative return says nothing
    per_usd = ret / cost if meaningful and cost else None
    per_hour = ret / (wall / 3600) if meaningful and wall else None
    note = ("return <= 0: no return per dollar or hour" if ret is not None and not meaningful
            else "free run: no return per dollar" if cost == 0 else "")
    return RunRow(path=path, provider=summary.provider or "?", eval_return_mean=ret,
                  cost_usd=cost, wall_s=wall, return_per_usd=per_usd, return_per_hour=per_hour,
                  note=note)
