"""Dist-QTRL figures beside the paper (Chen et al.): Table I and the speed-up of Table II.

Every run is the real command (`python -m qhil qtrl ...`, one process per agent on
torch.distributed/gloo) on MiniGrid-Empty-5x5-v0 with exact p_i (the embedded simulator), the
paper's U3 + CU3-ring circuit. Writes benchmarks/results/qtrl.json and .md after every finished
configuration (a run folder with a summary.json of the same length is reused, not rerun).

  Table I   average reward (mean return over the last 10% of episodes, per seed; mean, std and a
            95% t-interval over seeds) and trainable parameters: classical policy, centralised
            QT L=3, 7, 13, distributed QT L=3 with 4 agents.
  Table II  updates (= episodes per agent, the paper's x-axis) until the trailing-window mean
            return reaches the target: the centralised QT L=3 average reward pooled over seeds.
            Speed-up = mean updates (1 agent) / mean updates (N agents), 95% bootstrap interval
            over seeds; a run that never reaches the target counts as its last episode (a lower
            bound; the count reaching is shown). Wall-clock the same on wall seconds.
  Diagnostics (no extra runs): the same speed-up with agent 0's own returns in place of the
            N-agent mean, with per-seed targets (the paper's ambiguity), and per total episodes.
            `--lr-scaled` adds runs with lr x N (the linear-scaling rule) for 2 and 4 agents;
            qt-L3-frozen (lr 1e-9) is the untrained policy, to show what the target measures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _qtrl_markdown import markdown  # noqa: E402
from _qtrl_stats import speedup_rows, table_one_rows  # noqa: E402
from _results import machine_load, results_dir  # noqa: E402  (benchmarks/ is on sys.path)

RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)

PAPER_TABLE_I = {"classical": (0.9244, 4835), "qt-L3": (0.6453, 1749), "qt-L7": (0.8164, 2061),
                 "qt-L13": (0.8632, 2529), "dist-qt-L3-4agents": (0.901, 1749)}
PAPER_SPEEDUP = {2: 2.06, 4: 3.33, 8: 5.33}
ENV = "MiniGrid-Empty-5x5-v0"
QT_LR = 0.003


def configs(agent_counts: list[int], lr_scaled: bool) -> dict[str, list[str]]:
    """Name -> `qhil qtrl` flags, in run order (the target configuration first)."""
    out = {"qt-L3": ["--blocks", "3"]}
    out.update({f"dist-qt-L3-{n}agents": ["--blocks", "3", "--agents", str(n)] for n in agent_counts})
    out.update({"classical": ["--policy", "classical", "--lr", "0.01"], "qt-L7": ["--blocks", "7"],
                "qt-L13": ["--blocks", "13"]})
    if lr_scaled:
        out.update({f"dist-qt-L3-{n}agents-lrx{n}": ["--blocks", "3", "--agents", str(n), "--lr",
                                                      str(QT_LR * n)] for n in (2, 4)})
    out["qt-L3-frozen"] = ["--blocks", "3", "--lr", "1e-9"]  # the untrained policy: no learning
    return out


def run(name: str, seed: int, episodes: int, workdir: Path, flags: list[str]) -> dict:
    """One `qhil qtrl` run (reused when its folder holds a finished run of this length)."""
    out = workdir / f"{name}-s{seed}"
    if not _finished(out, episodes):
        _launch(out, seed, episodes, flags)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    summary["returns"] = [r["return_mean"] for r in rows]
    summary["returns_agent0"] = [r["returns"][0] for r in rows]
    summary["wall"] = [r["wall_s"] for r in rows]
    print(f"{name} seed {seed}: final {summary['final_return_mean']:.3f} "
          f"({summary['trainable_parameters']} params, {summary['wall_s']:.0f} s)", flush=True)
    return summary


def _finished(out: Path, episodes: int) -> bool:
    path = out / "summary.json"
    return path.is_file() and json.loads(path.read_text())["episodes"] == episodes


def _launch(out: Path, seed: int, episodes: int, flags: list[str]) -> None:
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    cmd = [sys.executable, "-m", "qhil", "qtrl", "--env", ENV, "--episodes", str(episodes),
           "--seed", str(seed), "--checkpoint-every", str(episodes), "--out", str(out), "--json",
           *flags]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip()}")


def report(args: argparse.Namespace, runs: dict[str, list[dict]]) -> dict:
    out = {"command": "python benchmarks/bench_qtrl.py " + " ".join(sys.argv[1:]), "env": ENV,
           "episodes": args.episodes, "seeds": args.seeds, "window": args.window,
           "cpu_count": os.cpu_count(), "load_average_at_end": machine_load(), "circuit": "U3 on every qubit + CU3 ring, exact p_i",
           "table_i": table_one_rows(runs, PAPER_TABLE_I)}
    if "qt-L3" in runs:
        out.update(speedup_rows(runs, args.window, PAPER_SPEEDUP))
    out["runs"] = {k: [_brief(r) for r in v] for k, v in runs.items()}
    return out


def _brief(r: dict) -> dict:
    keys = ("final_return_mean", "average_return", "wall_s", "episodes", "trainable_parameters")
    return {**{x: r[x] for x in keys}, "returns": [round(x, 4) for x in r["returns"]],
            "returns_agent0": [round(x, 4) for x in r["returns_agent0"]],
            "wall": [round(x, 3) for x in r["wall"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200, help="Episodes per agent per run.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--agents", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--window", type=int, default=10, help="Trailing window for the target.")
    parser.add_argument("--lr-scaled", action="store_true", help="Also lr x N for 2 and 4 agents.")
    parser.add_argument("--workdir", default=str(ROOT / "runs" / "bench_qtrl"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {}
    for name, flags in configs(args.agents, args.lr_scaled).items():
        runs[name] = [run(name, s, args.episodes, workdir, flags) for s in args.seeds]
        write(report(args, runs))


def write(data: dict) -> None:
    results = RESULTS
    results.mkdir(parents=True, exist_ok=True)
    (results / "qtrl.json").write_text(dumps(data))
    (results / "qtrl.md").write_text(markdown(data))


def dumps(data: dict) -> str:
    """Indented JSON, each run (with its per-episode curves) on one line."""
    runs = data.get("runs", {})
    marks = {k: [f"@run:{k}:{i}" for i in range(len(v))] for k, v in runs.items()}
    text = json.dumps({**data, "runs": marks}, indent=1)
    for k, v in runs.items():
        for i, r in enumerate(v):
            text = text.replace(json.dumps(marks[k][i]), json.dumps(r))
    return text + "\n"


def rewrite() -> None:
    """Re-render qtrl.md from qtrl.json (no runs)."""
    results = RESULTS
    (results / "qtrl.md").write_text(markdown(json.loads((results / "qtrl.json").read_text())))


if __name__ == "__main__":
    main()
