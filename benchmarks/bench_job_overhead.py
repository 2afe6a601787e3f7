"""Per-job cost of a pqc training step's sampling job: HardwareSampler -> Dispatcher -> SQLite
ledger -> the embedded `local` provider, one 4-qubit 2-layer hDQNN circuit of 100 shots with
counts (an explorer step of a Pendulum run), N jobs in a row on a fresh run folder's ledger.

    git archive <commit> | tar -x -C /tmp/before       # the tree to compare with, frozen
    .venv/bin/python benchmarks/bench_job_overhead.py --before /tmp/before [--jobs 1000]
        [--repeats 5] [--update-results]

Each repeat runs every tree in its own process, interleaved (before, after, before, ...), and
reports ms per job (wall clock over the N jobs, after 50 warm-up jobs; and CPU time of all the
process's threads, what competes with a learner thread) and, in the same process,
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
        simulation_ms, _ = _simulation_ms(provider, ansatz, controls, jobs)
        dispatcher.ledger.close()
    return {"ms_per_job": ms_per_job, "cpu_ms_per_job": cpu_ms_per_job,
            "simulation_ms": simulation_ms}


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
    return {"median_ms_per_job": round(job, 3), "median_cpu_ms_per_job": round(cpu, 3),
            "median_simulation_ms": round(sim, 3), "median_overhead_ms": round(job - sim, 3),
            "ms_per_job": [round(r["ms_per_job"], 3) for r in runs]}


def markdown(report: dict) -> str:
    lines = ["# Per-job cost of a pqc step's sampling job (local provider, 4 qubits, 100 shots)",
             "", f"`{report['command']}`", "",
             f"{report['jobs']} jobs per run, {report['repeats']} runs per tree, interleaved; "
             f"load average {report['load_before']} before, {report['load_after']} after "
             f"(2 cores shared).", "",
             "| tree | median ms per job | CPU ms per job | simulation alone ms | overhead ms "
             "| ms per job, each run |", "| --- | --- | --- | --- | --- | --- |"]
    for name, s in report["trees"].items():
        lines.append(f"| {name} | {s['median_ms_per_job']} | {s['median_cpu_ms_per_job']} | "
                     f"{s['median_simulation_ms']} | "
                     f"{s['median_overhead_ms']} | {', '.join(map(str, s['ms_per_job']))} |")
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
    report = {"command": " ".join(["benchmarks/bench_job_overhead.py", *sys.argv[1:]]),
              "jobs": args.jobs, "repeats": args.repeats, "load_before": load_before,
              "load_after": machine_load(), "note": args.note,
              "trees": {name: summary(r) for name, r in runs.items()}}
    (RESULTS / "bench_job_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "bench_job_overhead.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
