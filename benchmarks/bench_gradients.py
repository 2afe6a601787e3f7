"""Gradient methods side by side on tasks the PQC must carry (no c-links).

    .venv/bin/python benchmarks/bench_gradients.py --suite pendulum [--seeds 0 1 2] [--rows ...]
        [--steps 20000] [--parallel 2]
    .venv/bin/python benchmarks/bench_gradients.py --suite paper-pqc --seeds 0 1
    .venv/bin/python benchmarks/bench_gradients.py --report      (tables from the stored runs)

Every run is `python -m qhil train ROW_FLAGS --seed S --steps N --out DIR --json` in its own
process (the row's flags are in the table). Suites:
    pendulum   Pendulum-v1, clinks 0, 4 qubits x 2 layers, `local`: exact, qtdnn (qhil config and
               the paper's Algorithm 1), parameter-shift, spsa, and the fc / rbg / zeros ablations
    paper-pqc  the same task with the paper's PQC (10 qubits x 10 layers, data-dependent CZ, 100
               shots): exact, the paper's qtDNN [220, 2048, 10], qhil's surrogate, zeros
Per row: evaluation return (10 episodes), wall time, learner seconds per update, circuits, shots,
jobs, and for every method but exact the fidelity figures (medians over the second half of the
run's checks): PreDNN-gradient cosine and relative error, Jacobian cosine and relative error.
Savings: `qhil estimate --from-run` of the parameter-shift and qtdnn runs, and the cost model's
prediction for configs/humanoid.toml on braket-iqm-garnet and ibm-torino.
Every finished run is merged into benchmarks/results/bench_gradients.json at once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _train_common import RESULTS, ROOT, RUNS, median, qhil_train, write_results

P4 = ["--config", "configs/pendulum-pqc.toml"]
P10 = ["--config", "configs/pendulum-10x10.toml"]
SUITES = {
    "pendulum": {
        "pqc+exact": [*P4, "--gradient", "exact"],
        # the black-box trig qtDNN these rows measured (configs/pendulum-pqc.toml's surrogate
        # until it became the mean-field prior)
        "pqc+qtdnn (qhil)": [*P4, "--prior", "none"],
        "pqc+qtdnn (mean-field)": ["--config", "configs/pendulum-pqc-meanfield.toml"],
        "pqc+qtdnn (paper)": ["--config", "configs/pendulum-pqc-paper.toml"],
        "pqc+parameter-shift": [*P4, "--gradient", "parameter-shift"],
        "pqc+spsa": [*P4, "--gradient", "spsa"],
        "fc": [*P4, "--block", "fc"], "rbg": [*P4, "--block", "rbg"],
        "zeros": [*P4, "--block", "zeros"]},
    "paper-pqc": {
        "pqc+exact": [*P10, "--gradient", "exact"],
        "pqc+qtdnn (paper qtDNN)": ["--config", "configs/pendulum-10x10-paper.toml"],
        "pqc+qtdnn (qhil)": P10,
        # the seed-0 run above, continued with `qhil train --resume DIR --steps 6000`
        "pqc+qtdnn (qhil), resumed to 6000 steps": P10,
        "zeros": [*P10, "--block", "zeros"]},
}
FIGURES = ("grad_cosine", "grad_rel_error", "jacobian_cosine", "jacobian_rel_error")
PATH = RESULTS / "bench_gradients.json"
HUMANOID_DEVICES = ("braket-iqm-garnet", "ibm-torino")
LOCK = threading.Lock()


def slug(row: str) -> str:
    return (row.replace("+", "-").replace(" ", "").replace("(", "-").replace(")", "")
            .replace(",", "-"))


def run_one(suite: str, row: str, seed: int, steps: int) -> dict:
    out = RUNS / "gradients" / suite / f"{slug(row)}-s{seed}"
    flags = [*SUITES[suite][row], "--seed", str(seed), "--steps", str(steps)]
    started = time.perf_counter()
    s = qhil_train(out, *flags)
    return record(suite, row, seed, flags, out, s, time.perf_counter() - started)


def record(suite: str, row: str, seed: int, flags: list[str], out, s: dict,
           process_wall_s: float | None) -> dict:
    """One finished run as the table stores it (from its summary.json)."""
    learner = s["hw_learner"]
    return {"suite": suite, "row": row, "seed": seed, "steps": s["steps"],
            "command": f"qhil train {' '.join(flags)} --out {_short(out)}",
            "updates": s["updates"], "actor_updates": s["actor_updates"],
            "eval_return_mean": s["eval_return_mean"], "eval_return_std": s["eval_return_std"],
            "wall_s": s["wall_s"], "process_wall_s": process_wall_s,
            "learner_s_per_update": s["learner_s_per_update"],
            "circuits": s["hw"]["circuits"], "shots": s["hw"]["shots"], "jobs": s["hw"]["jobs"],
            "learner_circuits": learner["circuits"], "learner_jobs": learner["jobs"],
            "fidelity_checks": s.get("fidelity_checks"),
            "fidelity_reference": s.get("fidelity_reference"),
            **{f: s.get(f"surrogate_{f}") for f in FIGURES},
            **{f"{f}_last": s.get(f"surrogate_{f}_last") for f in FIGURES},
            "warnings": s.get("warnings", []), "run_dir": _rel(out)}


def _short(path) -> str:
    """The run folder as the command names it (runs/bench/..., whichever checkout ran it)."""
    text = str(path)
    return text[text.index("runs/"):] if "runs/" in text else text


def _rel(path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def rebuild(roots: list[str]) -> None:
    """Re-read every finished run under ROOT/runs/bench/gradients of each given tree (runs made
    in several checkouts of the same commit); the stored table is replaced by what they hold."""
    runs = []
    for root in roots:
        base = Path(root) / "runs" / "bench" / "gradients"
        for suite, rows in SUITES.items():
            for row, flags in rows.items():
                for path in sorted((base / suite).glob(f"{slug(row)}-s*/summary.json")):
                    seed = int(path.parent.name.rsplit("-s", 1)[1])
                    s = json.loads(path.read_text())
                    steps = ["--seed", str(seed), "--steps", str(s["steps"])]
                    runs.append(record(suite, row, seed, [*flags, *steps], path.parent, s, None))
    PATH.write_text(json.dumps({"runs": runs}, indent=2) + "\n")


def load() -> dict:
    return json.loads(PATH.read_text()) if PATH.exists() else {"runs": []}


def merge(result: dict) -> None:
    """Store one finished run at once (replacing an older run of the same row and seed)."""
    with LOCK:
        _merge(result)


def _merge(result: dict) -> None:
    data = load()
    key = (result["suite"], result["row"], result["seed"])
    data["runs"] = [r for r in data["runs"] if (r["suite"], r["row"], r["seed"]) != key]
    data["runs"].append(result)
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(json.dumps(data, indent=2) + "\n")


def estimate_json(*flags: str) -> dict:
    cmd = [sys.executable, "-m", "qhil", "estimate", *flags, "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(proc.stdout)


def savings(runs: list[dict]) -> dict:
    """Measured learner time per update and from-run estimates, parameter-shift against qtdnn."""
    out: dict = {"seeds": {}, "humanoid": {}}
    by = {(r["row"], r["seed"]): r for r in runs if r["suite"] == "pendulum"}
    for (row, seed), ps in by.items():
        qt = by.get(("pqc+qtdnn (qhil)", seed))
        if row != "pqc+parameter-shift" or qt is None:
            continue
        out["seeds"][seed] = {
            "pshift_learner_s_per_update": ps["learner_s_per_update"],
            "qtdnn_learner_s_per_update": qt["learner_s_per_update"],
            "ratio": ps["learner_s_per_update"] / max(qt["learner_s_per_update"], 1e-12),
            "pshift_learner_circuits_per_update": ps["learner_circuits"] / max(ps["updates"], 1),
            "from_run": {name: _brief(estimate_json("--from-run", r["run_dir"]))
                         for name, r in (("parameter-shift", ps), ("qtdnn", qt))}}
    for device in HUMANOID_DEVICES:
        out["humanoid"][device] = _methods(estimate_json(
            "--config", "configs/humanoid.toml", "--provider", device, "--method", "all"))
    return out


def _brief(report: dict) -> dict:
    return {k: report.get(k) for k in ("measured", "ratios", "predicted")} if report else {}


def _methods(report: dict) -> dict:
    keep = ("circuits", "shots", "jobs", "qpu_s", "wall_s", "cost_usd", "per_update")
    return {m: {k: v.get(k) for k in keep} for m, v in report.items()
            if isinstance(v, dict) and "circuits" in v}


def table(runs: list[dict], suite: str) -> str:
    rows = [r for r in runs if r["suite"] == suite]
    head = ("| row | seed | eval return | wall s | learner s/update | circuits | shots | jobs | "
            "grad cos | grad rel err | jac cos | jac rel err |\n|" + "---|" * 12)
    lines = [head]
    order = list(SUITES[suite])
    for r in sorted(rows, key=lambda r: (order.index(r["row"]), r["seed"])):
        lines.append(f"| {r['row']} | {r['seed']} | {_f(r['eval_return_mean'], 1)} +/- "
                     f"{_f(r['eval_return_std'], 1)} | {r['wall_s']:.0f} | "
                     f"{r['learner_s_per_update'] * 1e3:.1f} ms | {r['circuits']:,} | "
                     f"{r['shots']:,} | {r['jobs']:,} | "
                     + " | ".join(_f(r[f], 3) for f in FIGURES) + " |")
    return "\n".join(lines)


def medians(runs: list[dict], suite: str) -> str:
    lines = ["| row | seeds | median eval return | worst seed | median grad cos |", "|---|---|---|---|---|"]
    for row in SUITES[suite]:
        rs = [r for r in runs if r["suite"] == suite and r["row"] == row]
        if rs:
            rets = [r["eval_return_mean"] for r in rs]
            lines.append(f"| {row} | {len(rs)} | {_f(median(rets), 1)} | {_f(min(rets), 1)} | "
                         f"{_f(median([r['grad_cosine'] for r in rs]), 3)} |")
    return "\n".join(lines)


def commands(runs: list[dict]) -> str:
    seen = {}
    for r in runs:
        seen.setdefault((r["suite"], r["row"]), r["command"])
    return "\n".join(f"- {suite} / {row}: `{cmd}`" for (suite, row), cmd in seen.items())


def _f(x, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def report(data: dict) -> str:
    runs = data["runs"]
    parts = ["# Gradient methods side by side (benchmarks/bench_gradients.py)", ""]
    for suite in SUITES:
        if any(r["suite"] == suite for r in runs):
            parts += [f"## {suite}", "", medians(runs, suite), "", table(runs, suite), ""]
    parts += ["## Commands (each with --seed S)", "", commands(runs), ""]
    if data.get("savings"):
        parts += ["## Savings", "", "```json", json.dumps(data["savings"], indent=1), "```"]
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=SUITES, default="pendulum")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rows", nargs="+", help="Rows to run (default all of the suite).")
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--report", action="store_true", help="Only rebuild the tables.")
    ap.add_argument("--rebuild", nargs="+", metavar="TREE",
                    help="Rebuild the stored runs from the run folders of these checkouts.")
    args = ap.parse_args()
    if args.rebuild:
        rebuild(args.rebuild)
    elif not args.report:
        jobs = [(args.suite, row, seed) for seed in args.seeds for row in args.rows or SUITES[args.suite]]
        with ThreadPoolExecutor(args.parallel) as pool:
            for result in pool.map(lambda j: _safe(*j, args.steps), jobs):
                if result is not None:
                    print(f"done {result['row']} seed {result['seed']}: {result['eval_return_mean']}", flush=True)
    data = load()
    data["savings"] = savings(data["runs"])
    write_results("bench_gradients", data, report(data))


def _safe(suite: str, row: str, seed: int, steps: int) -> dict | None:
    try:
        result = run_one(suite, row, seed, steps)
    except RuntimeError as exc:
        print(f"FAILED {row} seed {seed}: {exc}", flush=True)
        return None
    merge(result)
    return result


if __name__ == "__main__":
    main()
