"""The `make demo` training on seeds 0-4, and the `zeros` ablation on the same config.

    .venv/bin/python benchmarks/bench_demo_seeds.py [--config configs/demo.toml] [--seeds 0 1 2 3 4]
        [--blocks pqc zeros] [--steps N] [--name demo_seeds]

Targets (issue 25): the trained policy (block pqc, no c-links: the PQC is the actor's only path)
ends >= 700 above a uniform-random policy on the same evaluation episodes on every seed; the
`zeros` block (the T-block's output replaced by zeros, so the actor sees nothing of the state)
ends <= -800 on the same config. Every run is `qhil train --config CONFIG --block B --seed S` in
its own process, one after another (the machine is shared: run it under `nice`); each row keeps
the machine's load average at its end, since wall times under load are pessimistic.
Writes benchmarks/results/NAME.{json,md} (with --update-results); `python -m qhil.demo` quotes
the zeros rows from there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _results import machine_load
from _train_common import RUNS, metrics, qhil_train, write_results

MARGIN = 700.0        # trained - random, every seed
ZEROS_CEILING = -800.0  # the zeros ablation's return, every seed


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/demo.toml")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--blocks", nargs="+", default=["pqc", "zeros"])
    p.add_argument("--steps", type=int, default=None, help="Override the config's steps.")
    p.add_argument("--name", default="demo_seeds", help="Results file name (default: %(default)s).")
    p.add_argument("--reuse", action="store_true", help="Keep a finished run folder whose "
                   "config.toml is exactly the config asked for (the sync loop reproduces it) "
                   "instead of training it again (default: train every run).")
    return p.parse_args()


def random_return(config_path: str, seed: int) -> float:
    """A uniform-random policy on the run's evaluation episodes (what the demo prints beside it)."""
    from qhil.rl.config import load_train_config
    from qhil.rl.evaluations import eval_seed
    from qhil.rl.explorer import evaluate_random

    c = load_train_config(config_path).with_overrides(seed=seed)
    return float(statistics.mean(evaluate_random(c.env, c.eval.episodes, eval_seed(c))))


def late_median(run_dir, key: str) -> float | None:
    values = [r[key] for r in metrics(run_dir) if r.get(key) is not None]
    return statistics.median(values[len(values) // 2:]) if values else None


def reusable(out, args: argparse.Namespace, block: str, seed: int) -> dict | None:
    """The summary of a finished run in `out` whose resolved config is the one asked for."""
    from qhil.rl.config import load_train_config

    if not args.reuse or not (out / "summary.json").is_file():
        return None
    asked = load_train_config(args.config).with_overrides(block=block, seed=seed, steps=args.steps)
    if load_train_config(out / "config.toml") != asked:
        return None
    return json.loads((out / "summary.json").read_text())


def run_one(args: argparse.Namespace, block: str, seed: int) -> dict:
    out = RUNS / f"{args.name}-{block}-s{seed}"
    flags = ["--config", args.config, "--block", block, "--seed", str(seed)]
    flags += ["--steps", str(args.steps)] if args.steps else []
    started = time.perf_counter()
    reused = reusable(out, args, block, seed)
    s = reused or qhil_train(out, *flags)
    rnd = random_return(args.config, seed)
    return {"block": block, "seed": seed, "steps": s["steps"], "updates": s["updates"],
            "eval_return_mean": s["eval_return_mean"], "eval_return_std": s["eval_return_std"],
            "random_return_mean": rnd, "margin": s["eval_return_mean"] - rnd,
            "train_wall_s": s["wall_s"], "process_wall_s": time.perf_counter() - started,
            "grad_cosine": s.get("surrogate_grad_cosine"),
            "grad_cosine_second_half": late_median(out, "surrogate/grad_cosine"),
            "jacobian_cosine": s.get("surrogate_jacobian_cosine"),
            "reproducible": s.get("reproducible"), "reused": reused is not None,
            "load_avg": None if reused else machine_load(),
            "command": "qhil train " + " ".join(flags), "run_dir": str(out)}


def passes(row: dict) -> bool:
    if row["block"] == "zeros":
        return row["eval_return_mean"] <= ZEROS_CEILING
    return row["margin"] >= MARGIN


def fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def load(row: dict) -> str:
    return "earlier run" if row["load_avg"] is None else " / ".join(map(str, row["load_avg"]))


def markdown(args: argparse.Namespace, rows: list[dict]) -> str:
    out = [f"# The demo's training ({args.config}), seeds {', '.join(map(str, args.seeds))}",
           "", "Targets: pqc >= 700 above the random policy on every seed; zeros <= -800.", "",
           "| block | seed | steps | updates | eval return (10 ep) | random policy | margin | "
           "PreDNN-grad cos | train wall s | load avg 1/5/15 | target |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['block']} | {r['seed']} | {r['steps']} | {r['updates']} | "
                   f"{r['eval_return_mean']:.1f} +/- {r['eval_return_std']:.1f} | "
                   f"{r['random_return_mean']:.1f} | {r['margin']:+.1f} | {fmt(r['grad_cosine'])} | "
                   f"{r['train_wall_s']:.0f} | {load(r)} | "
                   f"{'met' if passes(r) else 'MISSED'} |")
    out += ["", "Runs one after another on a 2-core machine shared with other work (load average "
            "at each run's end); wall times under load are pessimistic. Load 'earlier run': a "
            "finished run folder whose config.toml is the same resolved config, kept by --reuse "
            "(its wall time is from then).", "", "Commands:", ""]
    out += [f"- `{r['command']}`" for r in rows]
    return "\n".join(out)


def main() -> None:
    args = parse()
    rows = [run_one(args, block, seed) for block in args.blocks for seed in args.seeds]
    data = {"config": args.config, "seeds": args.seeds, "margin_target": MARGIN,
            "zeros_ceiling": ZEROS_CEILING, "runs": rows,
            "all_met": all(passes(r) for r in rows)}
    write_results(args.name, data, markdown(args, rows))


if __name__ == "__main__":
    main()
