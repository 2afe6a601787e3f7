"""Pendulum-v1 on `local`: evaluation return per block and seed, and what the quantum block costs.

    .venv/bin/python benchmarks/bench_train_pendulum.py [--seeds 0 1 2] [--blocks pqc fc rbg zeros]
        [--steps 20000]

Targets (issue 4): block pqc reaches a mean evaluation return >= -200 over 10 episodes within
20,000 steps for each seed, with fc, rbg and zeros in the same table; the wall time of pqc is at
most 2x that of fc at equal steps; the surrogate-vs-exact Jacobian cosine on Pendulum minibatches
after the refit (median of the run's measurements after learning starts). Every run is
`qhil train --config configs/pendulum.toml --block B --seed S --steps N` in its own process.
Writes benchmarks/results/bench_train_pendulum.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

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


def table(rows: list[dict]) -> str:
    lines = ["| block | seed | steps | updates | eval return (10 ep) | train wall s | "
             "Jacobian cos | grad cos | >= -200 |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        jac = "-" if r["jacobian_cosine_median"] is None else f"{r['jacobian_cosine_median']:.3f}"
        grad = "-" if r["grad_cosine_median"] is None else f"{r['grad_cosine_median']:.3f}"
        lines.append(f"| {r['block']} | {r['seed']} | {r['steps']} | {r['updates']} | "
                     f"{r['eval_return_mean']:.1f} +/- {r['eval_return_std']:.1f} | "
                     f"{r['train_wall_s']:.0f} | {jac} | {grad} | {'yes' if r['passes'] else 'no'} |")
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


def report(rows: list[dict], steps: int, command: str, parallel: int) -> None:
    """pqc / fc wall ratio per seed (the two ran side by side), then the table."""
    wall = {(r["block"], r["seed"]): r["train_wall_s"] for r in rows}
    ratios = {seed: wall[("pqc", seed)] / wall[("fc", seed)]
              for (block, seed) in wall if block == "pqc" and ("fc", seed) in wall}
    data = {"command": command, "target_return": TARGET_RETURN, "runs": rows,
            "pqc_over_fc_wall_ratio_by_seed": ratios,
            "pqc_over_fc_wall_ratio_median": median(list(ratios.values())), "parallel": parallel}
    md = [f"# Pendulum-v1, provider local, {steps} steps", "", table(rows), ""]
    for seed, ratio in ratios.items():
        md.append(f"pqc / fc wall time at equal steps, seed {seed} (run side by side): "
                  f"{ratio:.2f}x (target <= 2x)")
    md.append(f"Runs went {parallel} at a time on a machine shared with other work; wall times "
              "are comparable only within a seed.")
    write_results("bench_train_pendulum", data, "\n".join(md))


if __name__ == "__main__":
    main()
