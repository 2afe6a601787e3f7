"""bench_science's shared run helpers: derived configs, one `qhil train` per process under a
timeout, and what a run folder says (its state, meta, metrics rows) and how a report prints it.

OUT and ROOT are read from this module at call time (`_science_runs.OUT`), so that
bench_science's --out and the tests' monkeypatching reach every experiment.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _results import machine_load
from _train_common import ROOT, RUNS

OUT = RUNS / "science"
LEARNING_STARTS = 1000


def derived_config(source: str, name: str, **overrides) -> Path:
    """`source` with the overrides, written to runs/bench/science/NAME.toml."""
    sys.path.insert(0, str(ROOT))
    from qhil.rl.config import dump_toml, load_train_config

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.toml"
    path.write_text(dump_toml(load_train_config(ROOT / source).with_overrides(**overrides)))
    return path


def _rel(path: Path) -> str:
    """The path from the repository root; absolute where it lies outside it (a scratch --out)."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _meta_path(out: Path) -> Path:
    return out.parent / f"{out.name}.meta.json"


def last_checkpoint(out: Path) -> Path | None:
    found = sorted((out / "checkpoints").glob("step-*")) if (out / "checkpoints").exists() else []
    return found[-1] if found else None


def train(out: Path, flags: list[str], timeout_s: int, steps: int | None = None) -> None:
    """Train (or resume) one run in its own process (resumed to `steps` where given);
    appends the segment to RUN.meta.json."""
    if (out / "summary.json").exists():
        return
    # a folder with a config is a run, resumable from its journal even before its first checkpoint
    resume = last_checkpoint(out) is not None or (out / "config.toml").exists()
    cmd = ["--resume", str(out)] if resume else [*flags, "--out", str(out)]
    cmd += ["--steps", str(steps)] if resume and steps else []
    meta_path = _meta_path(out)
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"segments": []}
    meta["command"] = meta.get("command") or "qhil train " + " ".join([*flags, "--out", _rel(out)])
    seg = {"args": cmd, "load_start": machine_load(), "started": time.strftime("%H:%M:%S")}
    t0 = time.monotonic()
    rc = _run_with_timeout(cmd, timeout_s)
    seg.update(wall_s=round(time.monotonic() - t0, 1), load_end=machine_load(), rc=rc)
    meta["segments"].append(seg)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")


def _run_with_timeout(cmd: list[str], timeout_s: int) -> int:
    """`nice -n 10 qhil train ...` on one torch thread, stopped after timeout_s (checkpoints stay)."""
    import os

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    full = ["timeout", "-k", "30", str(timeout_s), "nice", "-n", "10", sys.executable, "-m", "qhil",
            "train", *cmd, "--quiet", "--json"]
    return subprocess.run(full, cwd=ROOT, capture_output=True, text=True, env=env).returncode


def run_state(out: Path, fidelity: bool = True) -> dict:
    """Steps, updates and fidelity checks of a run: its summary, or its last checkpoint
    (fidelity=False: no checks, so no torch)."""
    if (out / "summary.json").exists():
        s = json.loads((out / "summary.json").read_text())
        fid = _checkpoint_fidelity(out) if fidelity else []
        return {"finished": True, "steps": s["steps"], "updates": s["updates"], "fidelity": fid,
                "eval_return_mean": s.get("eval_return_mean"), "eval_return_std": s.get("eval_return_std"),
                "learner_s_per_update": s.get("learner_s_per_update"), "summary_wall_s": s.get("wall_s"),
                "warnings": s.get("warnings", [])}
    ck = last_checkpoint(out)
    manifest = json.loads((ck / "manifest.json").read_text()) if ck else {}
    return {"finished": False, "steps": manifest.get("step", 0), "updates": None,
            "fidelity": _checkpoint_fidelity(out) if fidelity else [], "eval_return_mean": None}


def _checkpoint_fidelity(out: Path) -> list[dict]:
    import torch

    ck = last_checkpoint(out)
    if ck is None:
        return []
    state = torch.load(ck / "state.pt", map_location="cpu", weights_only=False)
    return list(state.get("fidelity", []))


def meta_of(out: Path) -> dict:
    path = _meta_path(out)
    return json.loads(path.read_text()) if path.exists() else {"segments": []}


def wall_and_load(meta: dict) -> tuple[float | None, str]:
    segs = meta["segments"]
    if not segs:
        return None, "not recorded"
    wall = sum(s["wall_s"] for s in segs)
    load = "; ".join(f"{'/'.join(map(str, s['load_start']))} -> {'/'.join(map(str, s['load_end']))}"
                     for s in segs)
    return wall, load


def stats(values: list[float]) -> dict:
    half = values[len(values) // 2:]
    return {"all_median": statistics.median(values) if values else None,
            "second_half_median": statistics.median(half) if half else None,
            "min": min(values) if values else None, "max": max(values) if values else None}


def _timeout_before(deadline_utc: str | None, timeout_s: int) -> int:
    """timeout_s, cut to the seconds left until HH:MM UTC today (0 once it has passed)."""
    if deadline_utc is None:
        return timeout_s
    hours, minutes = map(int, deadline_utc.split(":"))
    now = time.gmtime()
    left_s = (hours * 60 + minutes) * 60 - (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec)
    return max(0, min(timeout_s, left_s))


def metrics_upto(out: Path, steps: int) -> list[dict]:
    """metrics.jsonl's rows up to `steps` (a resumed run rewrites the rows after its checkpoint:
    the last row of each step and kind wins)."""
    path = out / "metrics.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    kept = {(r["step"], tuple(sorted(r))): r for r in rows if r["step"] <= steps}
    return sorted(kept.values(), key=lambda r: r["step"])


def _slug(label: str) -> str:
    return label.lower().replace(" ", "-")


def _state(r: dict) -> str:
    return "" if r["finished"] else " (cut)" if r["steps"] else " (not started)"


def _fig(figure: dict) -> str:
    """The summary's figure (every check's second half) where the run finished, else the
    metrics rows' (the last check of each 200-step row, up to the checkpoint)."""
    value = figure.get("summary")
    return _f(value if value is not None else figure["second_half_median"])


def steps_target(r: dict) -> int:
    return int(Path(r["run_dir"]).name.split("-")[1].removesuffix("steps"))


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _n(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"


def closing(paragraphs: list[str], command: str) -> list[str]:
    """A report's lines under its table: how to read it, a blank line before each paragraph,
    then the command that produced it."""
    return [line for p in [*paragraphs, f"Produced by `{command}`."] for line in ("", p)]
