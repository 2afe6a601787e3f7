"""Per-job cost of a pqc training step's sampling job: HardwareSampler -> Dispatcher -> SQLite
ledger -> the embedded `local` provider, one 4-qubit 2-layer hDQNN circuit of 100 shots with
counts (an explorer step of a Pendulum run), N jobs in a row on a fresh run folder's ledger.

    git archive <commit> | tar -x -C /tmp/before       # the tree to compare with, frozen
    .venv/bin/python benchmarks/bench_job_overhead.py --before /tmp/before [--jobs 1000]
        [--repeats 5] [--update-results]

Each repeat runs every tree in its own process, interleaved (before, after, before, ...), and
reports ms per job (wall clock over the N jobs, after 50 warm-up jobs; and CPU time of all the
process's threads, what competes with a learner thread); the same beside a thread running
optimiser steps of a small MLP (the learner of a training run: each job's GIL hand-offs, a SQLite
statement or a wait, can cost up to the 5 ms switch interval there), with that thread's steps per
second; and, in the same process,
the provider's own simulation of such a request called directly (`LocalProvider._run`, no thread,
no ledger): what is left is the per-job overhead. Medians over the repeats; the load average is
written beside them. Writes bench_job_overhead.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _results import machine_load, results_dir

ROOT = Path(__file__).resolve().parent.parent
RESULTS = results_dir()


def inner(tree: str, jobs: int) -> dict:
    """Run in a child process whose qhil is `tree`'s."""
    sys.path.insert(0, tree)
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from qhil.execution.registry import get_provider
    from qhil.layers.hdqnn import HDQNNAnsatz
    from qhil.rl.run import open_run_dispatcher
    from qhil.rl.rundir import RunFolder
    from qhil.rl.sampler import HardwareSampler

    rng, ansatz = np.random.default_rng(0), HDQNNAnsatz(4, 2, "data")
    controls = [rng.uniform(-1, 1, (1, ansatz.control_dim)) for _ in range(jobs + 50)]
    with get_provider("local") as provider, tempfile.TemporaryDirectory() as folder:
        dispatcher = open_run_dispatcher(RunFolder(Path(folder)), provider, None)
        sampler = HardwareSampler(dispatcher, ansatz, 100, 0, 3600.0)
        ms_per_job, cpu_ms_per_job = _timed(sampler.sample, controls, jobs)
        beside, learner_steps_per_s = _beside_learner(sampler.sample, controls, jobs)
        simulation_ms, _ = _simulation_ms(provider, ansatz, controls, jobs)
        dispatcher.ledger.close()
    return {"ms_per_job": ms_per_job, "cpu_ms_per_job": cpu_ms_per_job,
            "ms_per_job_beside_learner": beside, "learner_steps_per_s": learner_steps_per_s,
            "simulation_ms": simulation_ms}


def _beside_learner(fn, args: list, jobs: int) -> tuple[float, float]:
    """ms per job while another thread runs optimiser steps of a small MLP (a learner), and
    that thread's steps per second: what the GIL hand-offs of each job cost a training run."""
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))
    opt, x, steps, stop = torch.optim.Adam(net.parameters()), torch.randn(256, 64), [0], [False]

    def learn() -> None:
        while not stop[0]:
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
            steps[0] += 1

    thread = threading.Thread(target=learn)
    thread.start()
    time.sleep(0.2)
    started, first = time.perf_counter(), steps[0]
    ms_per_job, _ = _timed(fn, args, jobs)
    learner = (steps[0] - first) / (time.perf_counter() - started)
    stop[0] = True
    thread.join()
    return ms_per_job, learner


def _timed(fn, args: list, jobs: int) -> tuple[float, float]:
    """Wall-clock and CPU (all threads of the process) ms per call."""
    for a in args[:50]:
        fn(a)
    started, cpu = time.perf_counter(), time.process_time()
    for a in args[50:50 + jobs]:
        fn(a)
    return ((time.perf_counter() - started) / jobs * 1e3,
            (time.process_time() - cpu) / jobs * 1e3)


def _simulation_ms(provider, ansatz, controls: list, jobs: int) -> tuple[float, float]:
    from qhil.execution.job import FutureJob

    job = FutureJob("bench", time.time())
    requests = [ansatz.request(c, 100, seed=i) for i, c in enumerate(controls)]
    return _timed(lambda r: provider._run(job, r, 1, 1), requests, jobs)


def child(tree: Path, jobs: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--inner", str(tree), "--jobs", str(jobs)],
                         capture_output=True, text=True, check=True, cwd=tree,
                         env={**os.environ, "PYTHONPATH": str(tree)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(trees: dict[str, Path], jobs: int, repeats: int) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(repeats):
        for name, tree in trees.items():
            runs[name].append(child(tree, jobs))
    return runs


def summary(runs: list[dict]) -> dict:
    job = statistics.median(r["ms_per_job"] for r in runs)
    sim = statistics.median(r["simulation_ms"] for r in runs)
    cpu = statistics.median(r["cpu_ms_per_job"] for r in runs)
    beside = statistics.median(r["ms_per_job_beside_learner"] for r in runs)
    learner = statistics.median(r["learner_steps_per_s"] for r in runs)
    return {"median_ms_per_job": round(job, 3), "median_cpu_ms_per_job": round(cpu, 3),
            "median_simulation_ms": round(sim, 3), "median_overhead_ms": round(job - sim, 3),
            "median_ms_per_job_beside_learner": round(beside, 3),
            "median_learner_steps_per_s": round(learner, 1),
            "ms_per_job": [round(r["ms_per_job"], 3) for r in runs]}


def markdown(report: dict) -> str:
    lines = ["# Per-job cost of a pqc step's sampling job (local provider, 4 qubits, 100 shots)",
             "", f"`{report['command']}`", "",
             f"{report['jobs']} jobs per run, {report['repeats']} runs per tree, interleaved; "
             f"load average {report['load_before']} before, {report['load_after']} after "
             f"(2 cores shared).", "",
             "| tree | median ms per job | CPU ms per job | simulation alone ms | overhead ms "
             "| ms per job beside a learner thread | learner steps/s | ms per job, each run |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in report["trees"].items():
        lines.append(f"| {name} | {s['median_ms_per_job']} | {s['median_cpu_ms_per_job']} | "
                     f"{s['median_simulation_ms']} | {s['median_overhead_ms']} | "
                     f"{s['median_ms_per_job_beside_learner']} | "
                     f"{s['median_learner_steps_per_s']} | {', '.join(map(str, s['ms_per_job']))} |")
    return "\n".join(lines + ["", report["note"], ""])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a tree of the commit to compare with")
    parser.add_argument("--note", default="")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(inner(args.inner, args.jobs)))
        return
    trees = {"before": args.before.resolve()} if args.before else {}
    trees["after"] = ROOT
    load_before = machine_load()
    runs = measure(trees, args.jobs, args.repeats)
    command = (f"benchmarks/bench_job_overhead.py --before {args.before or '-'} --jobs "
               f"{args.jobs} --repeats {args.repeats}")
    report = {"command": command,
              "jobs": args.jobs, "repeats": args.repeats, "load_before": load_before,
              "load_after": machine_load(), "note": args.note,
              "trees": {name: summary(r) for name, r in runs.items()}}
    (RESULTS / "bench_job_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "bench_job_overhead.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
