"""Where pqc's extra wall time goes: each piece of a training run, pqc beside fc, timed in the run.

    .venv/bin/python benchmarks/bench_train_parts.py [--env pendulum,humanoid] [--rounds 1]

The runs of benchmarks/bench_train_block_cost.py (same configs, steps and seed, the async loop),
each in a child process whose methods are wrapped by a timer: wall (perf_counter) and the calling
thread's CPU time (thread_time) of every call. Wall above CPU is time the thread waited (for the
GIL, a core, or another thread). The pieces:
    update        TD3.update: one learner update, all of the below that runs on the learner
    td_target     the critic's target (the target actor, its T-block value, both target critics)
    block.target  the pqc T-block's value inside td_target (the surrogate, a traced graph)
    critic_step   both critics' loss, backward and step
    refit wait    the learner waiting for the side thread's qtDNN refit after the critic step
    actor_step    the actor's loss through the block, backward and step (fidelity checks included)
    fidelity      GradientCheck.inspect inside actor_step (every fidelity_every actor updates)
    polyak        the target networks' soft update
    refit         QtDNNTrainer.refit, on the side thread beside the critic step
    explorer.step one exploration step (PreDNN, the job, PostDNN, the environment, the journal)
    sampler       HardwareSampler.sample inside explorer.step (dispatcher, ledger, simulator)
Writes benchmarks/results/bench_train_parts.{json,md} with --update-results (else runs/benchmarks/).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _train_common import ROOT, RUNS, write_results  # noqa: E402
from bench_train_block_cost import DEFAULT_STEPS, config_for  # noqa: E402

PIECES = ("update", "td_target", "block.target", "critic_step", "refit wait", "actor_step",
          "fidelity", "polyak", "refit", "explorer.step", "sampler")


def wrap(totals: dict, cls: type, name: str, label: str) -> None:
    """Time every call of cls.name into totals[label]: [calls, wall s, thread CPU s]."""
    method = getattr(cls, name)

    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return method(*args, **kwargs)
        finally:
            row = totals[label]
            row[0] += 1
            row[1] += time.perf_counter() - wall
            row[2] += time.thread_time() - cpu
    setattr(cls, name, timed)


def wrap_refit_wait(totals: dict, td3_cls: type) -> None:
    """The learner's wait for the side thread's refit: the getter start_refit returns."""
    start = td3_cls.start_refit

    def start_refit(self, pairs, generator):
        getter = start(self, pairs, generator)

        def waited():
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return getter()
            finally:
                row = totals["refit wait"]
                row[0], row[1] = row[0] + 1, row[1] + time.perf_counter() - wall
                row[2] += time.thread_time() - cpu
        return waited
    td3_cls.start_refit = start_refit


def child(out: Path, train_args: list[str]) -> int:
    """Run `qhil train` here with every piece wrapped; write the totals to `out`."""
    from qhil.cli import main
    from qhil.layers.hdqnn import QtDNNTrainer
    from qhil.rl import explorer, fidelity, qblock, sampler, td3

    totals: dict = defaultdict(lambda: [0, 0.0, 0.0])
    for name in ("update", "td_target", "critic_step", "actor_step", "polyak"):
        wrap(totals, td3.TD3, name, name)
    wrap(totals, qblock.LearnerBlock, "target", "block.target")
    wrap(totals, fidelity.GradientCheck, "inspect", "fidelity")
    wrap(totals, QtDNNTrainer, "refit", "refit")
    wrap(totals, explorer.Explorer, "step", "explorer.step")
    wrap(totals, sampler.HardwareSampler, "sample", "sampler")
    wrap_refit_wait(totals, td3.TD3)
    try:
        return main(train_args)
    finally:  # `qhil train` may end by SystemExit
        out.write_text(json.dumps(dict(totals)))


def run_block(env: str, block: str, seed: int, steps: int) -> dict:
    """One timed run of `block` in a child process: its summary and the piece totals."""
    run_dir, parts = RUNS / f"parts-{env}-{block}-s{seed}", RUNS / f"parts-{env}-{block}.json"
    if run_dir.exists():
        import shutil
        shutil.rmtree(run_dir)
    cmd = [sys.executable, __file__, "--child", str(parts), "train", "--config", config_for(env),
           "--block", block, "--seed", str(seed), "--steps", str(steps), "--out", str(run_dir),
           "--json"]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    summary = json.loads(proc.stdout)
    return {"block": block, "train_wall_s": summary["wall_s"], "updates": summary["updates"],
            "pieces": json.loads(parts.read_text()), "load_before": load,
            "load_after": os.getloadavg()[0]}


def table(env: str, steps: int, runs: list[dict]) -> list[str]:
    """One env's pieces: per call ms (wall, CPU) and run totals, pqc beside fc (medians)."""
    med = {b: _medians([r for r in runs if r["block"] == b]) for b in ("pqc", "fc")}
    wall = {b: statistics.median(r["train_wall_s"] for r in runs if r["block"] == b) for b in med}
    loads = ", ".join(f"{r['block']} {r['load_before']:.2f}->{r['load_after']:.2f}" for r in runs)
    lines = [f"## {env}, {steps} steps", "",
             f"Train wall (median): pqc {wall['pqc']:.1f} s, fc {wall['fc']:.1f} s "
             f"({wall['pqc'] / wall['fc']:.2f}x). 1-min load per run: {loads}.", "",
             "| piece | calls (pqc) | pqc ms/call wall | pqc ms/call CPU | fc ms/call wall | "
             "fc ms/call CPU | pqc total s | fc total s | pqc - fc s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for piece in PIECES:
        p, f = med["pqc"].get(piece), med["fc"].get(piece)
        if p is None and f is None:
            continue
        p, f = p or (0, 0.0, 0.0), f or (0, 0.0, 0.0)
        lines.append(f"| {piece} | {p[0]} | {_ms(p, 1)} | {_ms(p, 2)} | {_ms(f, 1)} | {_ms(f, 2)} "
                     f"| {p[1]:.2f} | {f[1]:.2f} | {p[1] - f[1]:+.2f} |")
    return lines + [""]


def _medians(runs: list[dict]) -> dict:
    """Per piece: calls and the median over runs of its total wall and CPU seconds."""
    names = {k for r in runs for k in r["pieces"]}
    return {k: (max(r["pieces"].get(k, [0])[0] for r in runs),
                statistics.median(r["pieces"].get(k, [0, 0.0, 0.0])[1] for r in runs),
                statistics.median(r["pieces"].get(k, [0, 0.0, 0.0])[2] for r in runs))
            for k in names}


def _ms(row: tuple, column: int) -> str:
    return f"{row[column] / row[0] * 1e3:.2f}" if row[0] else "-"


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        sys.exit(child(Path(sys.argv[2]), sys.argv[3:]))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="pendulum,humanoid", help="comma list: pendulum, humanoid")
    p.add_argument("--rounds", type=int, default=1, help="pqc, fc pairs per env (medians)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    envs = [e for e in args.env.split(",") if e]
    if set(envs) - set(DEFAULT_STEPS):
        p.error(f"--env takes {sorted(DEFAULT_STEPS)}")
    data = {"command": " ".join(["benchmarks/bench_train_parts.py", *sys.argv[1:]]), "envs": {}}
    lines = ["# Where pqc's extra time goes: the pieces of a training run, pqc beside fc", "",
             "Each run in its own process, its methods timed in the run (wall and the calling "
             "thread's CPU; wall above CPU is waiting). Same configs, steps and seed as "
             "bench_train_block_cost.py; the async loop; 2 CPUs, shared.", ""]
    for env in envs:
        steps = DEFAULT_STEPS[env]
        runs = [run_block(env, block, args.seed, steps)
                for _ in range(args.rounds) for block in ("pqc", "fc")]
        data["envs"][env] = {"steps": steps, "runs": runs}
        lines += table(env, steps, runs)
    lines += [f"Produced by `{data['command']}`."]
    write_results("bench_train_parts", data, "\n".join(lines))


if __name__ == "__main__":
    main()
