"""File helpers shared by run folders and snapshot writers: TOML text, JSON lines, atomic writes.

    toml_text(data, header="")   scalars, lists and one level of tables; None values left out
    read_jsonl(path) / append_jsonl(path, rows)
    write_text_atomic(path, text) / torch_save_atomic(path, obj)   readers never see half a file
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any


def toml_text(data: Mapping[str, Any], header: str = "") -> str:
    """TOML for top-level values followed by one table per nested mapping."""
    lines = [f"# {header}"] if header else []
    tables = [(k, v) for k, v in data.items() if isinstance(v, Mapping)]
    lines += [f"{k} = {toml_value(v)}" for k, v in data.items()
              if v is not None and not isinstance(v, Mapping)]
    for name, table in tables:
        lines += ["", f"[{name}]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """One TOML value: bool, string, exact Decimal, number or list of these."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text if "." in text else text + ".0"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(float(value)) if isinstance(value, float) else str(value)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every row of a JSON-lines file; a missing file has none, and a line that is not a JSON
    object (e.g. cut short by a kill) is skipped rather than failing the whole file."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line) if line.strip() else None
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def append_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    with open(path, "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write a temporary file beside `path`, then rename it over `path` (left as it was on a
    failure: the temporary file is removed)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def torch_save_atomic(path: Path, obj: Any) -> None:
    import torch

    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
