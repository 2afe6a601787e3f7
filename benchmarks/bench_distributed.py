"""Explorer scaling of distributed hDQNN-TD3: N explorer actors on local Ray against one.

    .venv/bin/python benchmarks/bench_distributed.py [--explorers 1,2,4] [--vector-steps 24]
    .venv/bin/python benchmarks/bench_distributed.py --faults [--steps 400] [--kills 5]

Provider `chaos-local-1s` (the local simulator behind 1.0 s per job), one Pendulum environment
per explorer, each explorer `--vector-steps` jobs. N = 1 runs the same distributed path (one
explorer actor). Environment steps per second are the run's steps over the span of its
explorers' jobs (first submission to last fetch, from their ledgers: Ray's start-up is left out);
the learner's busy fraction and policy lag p50/p95 are the summary's. Target: steps/s with N
explorers >= 0.8 N x one explorer's. Before each run, `qhil calibrate --config C --explorers N`
measures the provider's per-job time and the start-up of N explorer actors (no fit to the run),
and `qhil estimate --config C --calibration THAT` predicts the run's wall time, set beside the
summary's `wall_s` (target: within 15%). `--faults`: an explorer's worker SIGKILLed `--kills` times
during a run on a spooled, billing chaos-faults service (_distributed_faults.py). Each mode
writes its part of benchmarks/results/bench_distributed.{json,md} (`scaling`/`faults`) and keeps
the other's.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys

import tomllib
from _results import machine_load
from _train_common import RESULTS, ROOT, RUNS, qhil_train, write_results

from qhil.rl.config import TrainConfig, dump_toml  # noqa: E402


def config(explorers: int, vector_steps: int) -> TrainConfig:
    base = tomllib.loads((ROOT / "configs" / "pendulum.toml").read_text())
    return TrainConfig(**base).with_overrides(**{
        "provider": "chaos-local-1s", "num_envs": 1, "steps": vector_steps * explorers,
        "td3.learning_starts": 8, "td3.batch_size": 8, "eval.final": False,
        "network.critic_hidden": [64, 64], "qtdnn.fidelity_every": 0, "qtdnn.n_tiny_batches": 4,
        "loop.max_updates_per_transition": 1000.0, "loop.log_every_steps": 10,
        "loop.learner_threads": 1, "distributed.explorers": explorers,
        "distributed.providers": ["chaos-local-1s"]})


def job_span_s(run, explorers: int) -> float:
    """First submission to last fetch over every explorer's ledger."""
    starts, ends = [], []
    for k in range(explorers):
        db = sqlite3.connect(f"file:{run / f'ledger-explorer-{k}.sqlite'}?mode=ro", uri=True)
        first, last = db.execute("SELECT MIN(submit_called_at), MAX(submit_called_at + "
                                 "fetched_us / 1e6) FROM jobs WHERE fetched_us IS NOT NULL").fetchone()
        db.close()
        starts.append(first)
        ends.append(last)
    return max(ends) - min(starts)


def qhil_json(*args: str) -> dict:
    """`python -m qhil ARGS --json`'s answer (raises on failure)."""
    cmd = [sys.executable, "-m", "qhil", *args, "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout)


def predicted(path, explorers: int) -> dict:
    """The calibration measured now (per-job time, N actors' start-up) and the estimate from it."""
    out = RUNS / f"distributed-{explorers}-calibration.toml"
    fit = qhil_json("calibrate", "--provider", "chaos-local-1s", "--config", str(path),
                    "--explorers", str(explorers), "--repeats", "2", "--out", str(out))
    est = qhil_json("estimate", "--config", str(path), "--calibration", str(out),
                    "--method", "qtdnn")
    return {"predicted_wall_s": est["qtdnn"]["wall_s"], "actors_start_s": fit["actors_start_s"],
            "calibrated_job_s": fit["job_overhead_s"]}


def measure(explorers: int, vector_steps: int) -> dict:
    path = RUNS / f"distributed-{explorers}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_toml(config(explorers, vector_steps)))
    estimate = predicted(path, explorers)
    run = RUNS / f"distributed-{explorers}"
    s = qhil_train(run, "--config", str(path), "--yes")
    span = job_span_s(run, explorers)
    return {"explorers": explorers, "steps": s["steps"], "updates": s["updates"],
            "job_span_s": span, "steps_per_s": s["steps"] / span, **estimate,
            "wall_error": estimate["predicted_wall_s"] / s["wall_s"] - 1,
            "learner_busy_fraction": 1 - s["learner_wait_fraction"],
            "policy_lag_p50": s["policy_lag_p50"], "policy_lag_p95": s["policy_lag_p95"],
            "jobs": s["hw"]["jobs"], "wall_s": s["wall_s"]}


def table(rows: list[dict], one: float) -> list[str]:
    lines = ["| explorers | steps | job span s | steps/s | vs N x one | learner busy | "
             "policy lag p50 / p95 | wall s: estimate / run (actors' start-up) | error |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['explorers']} | {r['steps']} | {r['job_span_s']:.1f} | "
                     f"{r['steps_per_s']:.2f} | {r['steps_per_s'] / (r['explorers'] * one):.2f} | "
                     f"{100 * r['learner_busy_fraction']:.1f}% | "
                     f"{r['policy_lag_p50']:.0f} / {r['policy_lag_p95']:.0f} | "
                     f"{r['predicted_wall_s']:.1f} / {r['wall_s']:.1f} ({r['actors_start_s']:.1f}) | "
                     f"{r['wall_error']:+.0%} |")
    return lines


FAULTS_TITLE = "# Distributed hDQNN-TD3: an explorer's worker SIGKILLed"


def merged(mode: str, data: dict, markdown: str) -> tuple[dict, str]:
    """This mode's results beside the other mode's committed ones."""
    old_json, old_md = RESULTS / "bench_distributed.json", RESULTS / "bench_distributed.md"
    old = json.loads(old_json.read_text()) if old_json.is_file() else {}
    text = old_md.read_text() if old_md.is_file() else ""
    scaling_md, _, faults_md = text.partition(FAULTS_TITLE)
    if mode == "faults":
        keep = {k: v for k, v in old.items() if k != "faults"}
        return {**keep, "faults": data}, f"{scaling_md.rstrip()}\n\n{markdown}"
    tail = f"\n\n{FAULTS_TITLE}{faults_md.rstrip()}" if faults_md else ""
    return {**data, **({"faults": old["faults"]} if "faults" in old else {})}, markdown + tail


def faults(args) -> None:
    from _distributed_faults import faults_markdown, measure_faults

    load_before = machine_load()
    result = measure_faults(args.steps, args.kills, args.every)
    load = (load_before, machine_load())
    result.update(command=f"benchmarks/bench_distributed.py --faults --steps {args.steps} "
                          f"--kills {args.kills} --every {args.every}",
                  provider="chaos-faults, spooled service (tests/reference.spooled_billing_profile)",
                  load_before=load[0], load_after=load[1])
    write_results("bench_distributed", *merged("faults", result, faults_markdown(result, load)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--explorers", default="1,2,4")
    p.add_argument("--vector-steps", type=int, default=24)
    p.add_argument("--faults", action="store_true")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--every", type=int, default=12, help="explorer 0's steps between kills")
    args = p.parse_args()
    if args.faults:
        return faults(args)
    load_before = machine_load()
    rows = [measure(int(n), args.vector_steps) for n in args.explorers.split(",")]
    one = rows[0]["steps_per_s"]
    for r in rows:
        r["scaling"] = r["steps_per_s"] / (r["explorers"] * one)
    data = {"command": f"benchmarks/bench_distributed.py --explorers {args.explorers} "
                       f"--vector-steps {args.vector_steps}",
            "provider": "chaos-local-1s", "runs": rows,
            "load_before": load_before, "load_after": machine_load(),
            "targets": {"scaling": ">= 0.8", "learner_busy_fraction": ">= 0.95",
                        "wall_error": "within +-15%"}}
    lines = ["# Distributed hDQNN-TD3: explorer scaling on chaos-local-1s (1.0 s per job)", "",
             f"{args.vector_steps} jobs per explorer, 1 env each; load (1/5/15 min) "
             f"{load_before} before, {data['load_after']} after", "", *table(rows, one), "",
             "vs N x one: steps/s over N x the one-explorer run's (target >= 0.8); learner busy: "
             "its update time over the learning phase's wall time (target >= 95%); wall s: "
             "`qhil estimate --config C --calibration` (calibrated just before the run by `qhil "
             "calibrate --config C --explorers N`: per-job time, and the actors' start-up shown "
             "in brackets) against the summary's wall_s (target: error within 15%)"]
    write_results("bench_distributed", *merged("scaling", data, "\n".join(lines)))


if __name__ == "__main__":
    main()
