"""Dist-QTRL figures beside the paper (Chen et al.): Table I and the speed-up of Table II.

Every run is the real command (`python -m qhil qtrl ...`, one process per agent on
torch.distributed/gloo) on MiniGrid-Empty-5x5-v0. Writes benchmarks/results/qtrl.json and .md.

  Table I   average reward (mean return over the last 10% of episodes) and trainable parameters:
            classical policy, centralised QT L=3, 7, 13, distributed QT L=3 with 4 agents.
  Table II  episodes (per agent = synchronised updates) for the trailing mean return to reach the
            centralised QT L=3 target (its own final average), with 1, 2, 4, 8 agents; speed-up =
            episodes(1 agent) / episodes(N agents); wall-clock speed-up the same on wall seconds.

Full version: --episodes 1000 --seeds 0 1 2 (hours on a small machine); quick: the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qhil.qtrl.summary import episodes_to_reach  # noqa: E402

PAPER_TABLE_I = {"classical": (0.9244, 4835), "qt-L3": (0.6453, 1749), "qt-L7": (0.8164, 2061),
                 "qt-L13": (0.8632, 2529), "dist-qt-L3-4agents": (0.901, 1749)}
PAPER_SPEEDUP = {2: 2.06, 4: 3.33, 8: 5.33}
ENV = "MiniGrid-Empty-5x5-v0"


def run(name: str, seed: int, episodes: int, workdir: Path, *flags: str) -> dict:
    """One `qhil qtrl` run; returns its summary plus the per-episode returns and wall times."""
    out = workdir / f"{name}-s{seed}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "qhil", "qtrl", "--env", ENV, "--episodes", str(episodes),
           "--seed", str(seed), "--checkpoint-every", str(episodes), "--out", str(out), "--json",
           *flags]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads(done.stdout)
    summary["returns"] = [r["return_mean"] for r in rows]
    summary["wall"] = [r["wall_s"] for r in rows]
    print(f"{name} seed {seed}: final {summary['final_return_mean']:.3f} "
          f"({summary['trainable_parameters']} params, {summary['wall_s']:.0f} s)", flush=True)
    return summary


def cached(runs: dict, name: str, seeds: list[int], episodes: int, workdir: Path,
           flags: list[str]) -> list[dict]:
    """Each configuration runs once per seed; Table I and Table II share runs."""
    if name not in runs:
        runs[name] = [run(name, s, episodes, workdir, *flags) for s in seeds]
    return runs[name]


def table_one(seeds: list[int], episodes: int, workdir: Path, runs: dict) -> list[dict]:
    configs = {"classical": ["--policy", "classical", "--lr", "0.01"], "qt-L3": ["--blocks", "3"],
               "qt-L7": ["--blocks", "7"], "qt-L13": ["--blocks", "13"],
               "dist-qt-L3-4agents": ["--blocks", "3", "--agents", "4"]}
    rows = []
    for name, flags in configs.items():
        results = cached(runs, name, seeds, episodes, workdir, flags)
        paper_reward, paper_params = PAPER_TABLE_I[name]
        rows.append({"model": name, "average_reward": statistics.mean(r["final_return_mean"] for r in results),
                     "trainable_parameters": results[0]["trainable_parameters"],
                     "paper_average_reward": paper_reward, "paper_parameters": paper_params})
    return rows


def speedups(seeds: list[int], episodes: int, window: int, workdir: Path, runs: dict,
             agent_counts: list[int]) -> list[dict]:
    central = cached(runs, "qt-L3", seeds, episodes, workdir, ["--blocks", "3"])
    rows = []
    for n in agent_counts:
        name = "dist-qt-L3-4agents" if n == 4 else f"dist-qt-L3-{n}agents"
        dist = cached(runs, name, seeds, episodes, workdir, ["--blocks", "3", "--agents", str(n)])
        rows.append(_speedup_row(n, central, dist, window))
    return rows


def _speedup_row(n: int, central: list[dict], dist: list[dict], window: int) -> dict:
    ep_ratios, wall_ratios, reached = [], [], 0
    for c, d in zip(central, dist, strict=True):
        target = c["final_return_mean"]
        ep_c, ep_d = episodes_to_reach(c["returns"], target, window), episodes_to_reach(d["returns"], target, window)
        if ep_c is None or ep_d is None:
            continue
        reached += 1
        ep_ratios.append(ep_c / ep_d)
        wall_ratios.append(c["wall"][ep_c - 1] / d["wall"][ep_d - 1])
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    return {"agents": n, "episode_speedup_median": med(ep_ratios), "wall_speedup_median": med(wall_ratios),
            "seeds_reaching_target": reached, "seeds": len(central), "paper_speedup": PAPER_SPEEDUP.get(n)}


def markdown(report: dict) -> str:
    fmt = lambda v, f="{:.3f}": "n/a" if v is None else f.format(v)  # noqa: E731
    lines = [f"# Dist-QTRL on {ENV}", "", f"Ran: `{report['command']}`", "",
             f"{report['episodes']} episodes per agent, seeds {report['seeds']}; average reward = mean "
             "return over the last 10% of episodes.", "",
             "| model | average reward | paper | trainable params | paper |", "|---|---|---|---|---|"]
    for r in report["table_i"]:
        lines.append(f"| {r['model']} | {fmt(r['average_reward'])} | {r['paper_average_reward']} | "
                     f"{r['trainable_parameters']} | {r['paper_parameters']} |")
    lines += ["", f"Speed-up to the centralised QT L=3 target (trailing {report['window']}-episode mean):", "",
              "| agents | episodes speed-up | paper | wall-clock speed-up | seeds reaching |", "|---|---|---|---|---|"]
    for r in report["speedup"]:
        lines.append(f"| {r['agents']} | {fmt(r['episode_speedup_median'], 'x{:.2f}')} | x{r['paper_speedup']} | "
                     f"{fmt(r['wall_speedup_median'], 'x{:.2f}')} | {r['seeds_reaching_target']}/{r['seeds']} |")
    lines += ["", "Notes: one process per agent on torch.distributed (gloo); Adam (QT lr 0.003, classical 0.01),",
              "gamma 0.99, no baseline or entropy term (the paper's REINFORCE). Our trainable counts are",
              "39 U3 angles per block (13 qubits x 3) + a (14-10, 10-10, 10-1) mapping of 271; the paper's",
              "counts grow by 78 per block and hold 1515 otherwise, which its printed topology does not give.",
              "Wall-clock figures come from a 2-core machine shared with other jobs: N agents share 2 cores."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=150, help="Episodes per agent per run.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--window", type=int, default=10, help="Trailing window for the target.")
    parser.add_argument("--workdir", default=str(ROOT / "runs" / "bench_qtrl"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    runs: dict = {}
    report = {"command": "python benchmarks/bench_qtrl.py " + " ".join(sys.argv[1:]),
              "env": ENV, "episodes": args.episodes, "seeds": args.seeds, "window": args.window,
              "cpu_count": os.cpu_count()}
    report["table_i"] = table_one(args.seeds, args.episodes, workdir, runs)
    report["speedup"] = speedups(args.seeds, args.episodes, args.window, workdir, runs, args.agents)
    report["runs"] = {k: [{x: r[x] for x in ("final_return_mean", "average_return", "wall_s", "episodes",
                                              "trainable_parameters")} for r in v] for k, v in runs.items()}
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "qtrl.json").write_text(json.dumps(report, indent=2))
    (results / "qtrl.md").write_text(markdown(report))
    print(markdown(report))


def rewrite_markdown() -> None:
    """Re-render qtrl.md from qtrl.json (no runs)."""
    results = ROOT / "benchmarks" / "results"
    (results / "qtrl.md").write_text(markdown(json.loads((results / "qtrl.json").read_text())))


if __name__ == "__main__":
    main()
