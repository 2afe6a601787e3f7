"""File helpers shared by run folders and snapshot writers: TOML text, JSON lines, atomic writes.

    toml_text(data, header="")   scalars, lists and one level of tables; None values left out
    read_jsonl(path) / append_jsonl(path, rows)
    clean(value)                 JSON-safe: NaN/inf become null, numpy scalars plain numbers
    write_text_atomic(path, text) / torch_save_atomic(path, obj)   readers never see half a file
    torch_load_safe(path_or_bytes, path)   tensors and plain data only; never runs code (below)
    plain_data(obj)                        numpy values as tensors / numbers, for torch_load_safe

Loading is not executing: a checkpoint someone shared is read with `weights_only=True`, which
accepts tensors, numbers, strings, None and containers of these, and refuses any other pickled
object (UntrustedFileError) before building it, so a crafted file cannot run its author's code.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from qhil.errors import UntrustedFileError


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


def torch_load_safe(source: Path | bytes, path: Path) -> Any:
    """What torch.save wrote, if it is tensors and plain data; `path` names it in messages.
    A file holding other pickled objects is refused with how to convert a folder one trusts;
    a damaged file raises torch's own error (RuntimeError, UnpicklingError, EOFError)."""
    import torch

    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return torch.load(stream, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found is None:
            raise
        raise UntrustedFileError(
            f"{path} holds a pickled Python object ({found.group(1)}) that loading would run, "
            f"so qhil does not read it; if you trust whoever wrote it, convert the folder: "
            f"qhil convert-checkpoints {_run_folder_of(path)} --trust") from None


def _run_folder_of(path: Path) -> Path:
    """The run folder a checkpoint sits in (the nearest parent with a config.toml)."""
    path = Path(path)
    return next((p for p in path.parents if (p / "config.toml").is_file()), path.parent)


def plain_data(value: Any) -> Any:
    """`value` with numpy arrays as tensors and numpy scalars as Python numbers, so that
    torch_load_safe reads it back; anything else that is not plain data is a TypeError."""
    import numpy as np
    import torch

    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        return value.item()
    if isinstance(value, (str, bytes, bool, int, float, complex, type(None), torch.Tensor)):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, (list, tuple)):
        return (list if isinstance(value, list) else tuple)(plain_data(v) for v in value)
    if isinstance(value, OrderedDict):  # a state_dict: keep its type and version metadata
        out = OrderedDict((k, plain_data(v)) for k, v in value.items())
        out.__dict__.update(plain_data(vars(value)))
        return out
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    raise TypeError(f"a {type(value).__module__}.{type(value).__qualname__} is not plain data")


def clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
