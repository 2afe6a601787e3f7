"""Pendulum-v1 on `local`: evaluation return per block and seed, and what the quantum block costs.

    .venv/bin/python benchmarks/bench_train_pendulum.py [--seeds 0 1 2] [--blocks pqc fc rbg zeros]
        [--steps 20000]

Targets (issue 4): block pqc reaches a mean evaluation return >= -200 over 10 episodes within
20,000 steps for each seed, with fc, rbg and zeros in the same table; the wall time of pqc is at
most 2x that of fc at equal steps; the gradient fidelity (qhil.rl.fidelity; medians over the
second half of the run's checks): PreDNN-gradient cosine and relative error, and the per-sample
Jacobian cosine (median and final). Every run is
`qhil train --config configs/pendulum.toml --block B --seed S --steps N` in its own process.
Writes benchmarks/results/bench_train_pendulum.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _train_common import RESULTS, RUNS, median, metrics, qhil_train, write_results

TARGET_RETURN = -200.0


def run_one(block: str, seed: int, steps: int) -> dict:
    out = RUNS / f"pendulum-{block}-s{seed}"
    started = time.perf_counter()
    summary = qhil_train(out, "--config", "configs/pendulum.toml", "--block", block,
                         "--seed", str(seed), "--steps", str(steps))
    rows = metrics(out)
    return {"block": block, "seed": seed, "steps": summary["steps"], "updates": summary["updates"],
            "eval_return_mean": summary["eval_return_mean"], "eval_return_std": summary["eval_return_std"],
            "train_wall_s": summary["wall_s"], "process_wall_s": time.perf_counter() - started,
            "jacobian_cosine_median": late_median(rows, "surrogate/jacobian_cosine"),
            "grad_rel_error_median": late_median(rows, "surrogate/grad_rel_error"),
            "jacobian_cosine_last": last(rows, "surrogate/jacobian_cosine"),
            "grad_cosine_median": late_median(rows, "surrogate/grad_cosine"),
            "passes": summary["eval_return_mean"] >= TARGET_RETURN, "run_dir": str(out)}


def merged(rows: list[dict], steps: int) -> list[dict]:
    """Earlier rows (same step count) for pairs not run now, then the new ones."""
    path = RESULTS / "bench_train_pendulum.json"
    old = json.loads(path.read_text())["runs"] if path.exists() else []
    fresh = {(r["block"], r["seed"]) for r in rows}
    kept = [r for r in old if (r["block"], r["seed"]) not in fresh and r["steps"] == steps]
    order = {"pqc": 0, "fc": 1, "rbg": 2, "zeros": 3}
    return sorted(kept + rows, key=lambda r: (r["seed"], order.get(r["block"], 9)))


def late_median(rows: list[dict], key: str) -> float | None:
    """Median over the second half of the run's measurements (the surrogate has been refit)."""
    values = [r[key] for r in rows if r.get(key) is not None]
    return median(values[len(values) // 2:])


def last(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return values[-1] if values else None


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(rows: list[dict]) -> str:
    lines = ["| block | seed | steps | updates | eval return (10 ep) | train wall s | "
             "Jacobian cos: median / final | PreDNN-grad cos / rel err | >= -200 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        jac = " / ".join(fmt(r.get(k)) for k in ("jacobian_cosine_median", "jacobian_cosine_last"))
        grad = " / ".join(fmt(r.get(k)) for k in ("grad_cosine_median", "grad_rel_error_median"))
        lines.append(f"| {r['block']} | {r['seed']} | {r['steps']} | {r['updates']} | "
                     f"{r['eval_return_mean']:.1f} +/- {r['eval_return_std']:.1f} | "
                     f"{r['train_wall_s']:.0f} | {jac} | {grad} | "
                     f"{'yes' if r['passes'] else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--blocks", nargs="+", default=["pqc", "fc", "rbg", "zeros"])
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--parallel", type=int, default=1, help="runs at once (separate processes)")
    p.add_argument("--merge", action="store_true",
                   help="keep the rows of an earlier result file for other (block, seed) pairs")
    args = p.parse_args()
    jobs = [(block, seed, args.steps) for seed in args.seeds for block in args.blocks]
    with ThreadPoolExecutor(args.parallel) as pool:
        rows = list(pool.map(lambda job: run_one(*job), jobs))
    if args.merge:
        rows = merged(rows, args.steps)
        args.blocks = list(dict.fromkeys(r["block"] for r in rows))
    report(rows, args.steps, "benchmarks/bench_train_pendulum.py " + " ".join(
        ["--seeds", *map(str, args.seeds), "--blocks", *args.blocks, "--steps", str(args.steps),
         "--parallel", str(args.parallel)] + (["--merge"] if args.merge else [])), args.parallel)


def steps_at(run_dir: str, wall_s: float) -> float | None:
    """The run's step count at `wall_s` seconds of training, interpolated from its metrics."""
    points = [(r["time/wall_s"], r["step"]) for r in metrics(Path(run_dir)) if "time/wall_s" in r]
    for (t0, s0), (t1, s1) in zip(points, points[1:], strict=False):
        if t0 <= wall_s <= t1:
            return s0 + (s1 - s0) * (wall_s - t0) / max(t1 - t0, 1e-9)
    return None


def shared_ratio(pqc: dict, fc: dict) -> float | None:
    """fc's steps over pqc's steps at the moment fc finished: both ran, so both shared the CPU."""
    reached = steps_at(pqc["run_dir"], fc["train_wall_s"])
    return fc["steps"] / reached if reached else None


def report(rows: list[dict], steps: int, command: str, parallel: int) -> None:
    """pqc / fc wall ratio per seed (the two ran side by side), then the table."""
    by = {(r["block"], r["seed"]): r for r in rows}
    pairs = {seed: (by[("pqc", seed)], by[("fc", seed)])
             for (block, seed) in by if block == "pqc" and ("fc", seed) in by}
    ratios = {seed: p["train_wall_s"] / f["train_wall_s"] for seed, (p, f) in pairs.items()}
    shared = {seed: shared_ratio(p, f) for seed, (p, f) in pairs.items()}
    data = {"command": command, "target_return": TARGET_RETURN, "runs": rows,
            "pqc_over_fc_wall_ratio_by_seed": ratios,
            "pqc_over_fc_wall_ratio_median": median(list(ratios.values())),
            "pqc_over_fc_shared_time_ratio_by_seed": shared, "parallel": parallel}
    md = [f"# Pendulum-v1, provider local, {steps} steps", "", table(rows), ""]
    for seed, ratio in ratios.items():
        both = "" if shared[seed] is None else f"; {shared[seed]:.2f}x while both were running"
        md.append(f"pqc / fc wall time at equal steps, seed {seed} (run side by side): "
                  f"{ratio:.2f}x{both} (target <= 2x)")
    md.append(f"Runs went {parallel} at a time on a machine shared with other work; wall times "
              "are comparable only within a seed.")
    write_results("bench_train_pendulum", data, "\n".join(md))


if __name__ == "__main__":
    main()
