"""Finished training runs (--runs DIR ...): evaluation return, per dollar and per hour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qhil.errors import ConfigError
from qhil.report.model import RunRow


def load_run(run_dir: str | Path) -> RunRow:
    """Read RUN_DIR/summary.json; a missing or unreadable summary is a ConfigError (exit 2)."""
    path = Path(run_dir) / "summary.json"
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; --runs takes run folders written by qhil train") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(summary, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return run_row(str(run_dir), summary)


def run_row(path: str, summary: dict[str, Any]) -> RunRow:
    ret = _number(summary.get("eval_return_mean"))
    cost = _number(_lookup(summary, "hw", "cost_usd"))
    wall = _number(summary.get("wall_s"))
    meaningful = ret is not None and ret > 0  # a ratio of a negative return says nothing
    per_usd = ret / cost if meaningful and cost else None
    per_hour = ret / (wall / 3600) if meaningful and wall else None
    note = ("return <= 0: no return per dollar or hour" if ret is not None and not meaningful
            else "free run: no return per dollar" if cost == 0 else "")
    return RunRow(path=path, provider=str(summary.get("provider", "?")), eval_return_mean=ret,
                  cost_usd=cost, wall_s=wall, return_per_usd=per_usd, return_per_hour=per_hour,
                  note=note)


def _lookup(summary: dict[str, Any], group: str, key: str) -> Any:
    """`hw.cost_usd` as a nested object, a dotted key or a slashed metric key."""
    nested = summary.get(group)
    if isinstance(nested, dict) and key in nested:
        return nested[key]
    return summary.get(f"{group}.{key}", summary.get(f"{group}/{key}"))


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
