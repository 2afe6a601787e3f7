"""Seeded sampling under load: N runs of one seeded `qhil sample` while CPU-bound processes compete.

    .venv/bin/python benchmarks/check_seeded_sampling.py [--runs 100] [--competitors 3]

Each run is `qhil sample --provider local --qubits 10 --layers 10 --batch 64 --shots 100 --seed 7
--json`, by default in this process (`qhil.cli.main`, a fresh provider and worker thread each
time; cheap enough for 100 runs on a loaded 2-core machine), with `--fresh-processes` each in
its own `python -m qhil` process. `--competitors` processes spin on torch matmuls the whole time
(the load under which 3 of 30 seeded outputs differed in issue 18). Target: every run's marginals
identical. Writes benchmarks/results/check_seeded_sampling.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections import Counter

from _train_common import ROOT, write_results

SAMPLE = ["-m", "qhil", "sample", "--provider", "local", "--qubits", "10", "--layers", "10",
          "--batch", "64", "--shots", "100", "--seed", "7", "--json"]
SPIN = ("import torch\nx = torch.randn(512, 512)\nwhile True:\n    x = torch.tanh(x @ x)\n")


def run_sample(fresh_process: bool) -> str:
    """One seeded run's marginals as canonical JSON text."""
    if fresh_process:
        proc = subprocess.run([sys.executable, *SAMPLE], cwd=ROOT, capture_output=True,
                              text=True, check=True,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        return json.dumps(json.loads(proc.stdout)["marginals"])
    from qhil.cli import main as qhil_main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        qhil_main(SAMPLE[2:])
    return json.dumps(json.loads(out.getvalue())["marginals"])


def start_competitors(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(count)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--competitors", type=int, default=3)
    p.add_argument("--fresh-processes", action="store_true",
                   help="one `python -m qhil sample` process per run (slow under load)")
    args = p.parse_args()
    load_start = os.getloadavg()
    competitors = start_competitors(args.competitors)
    started = time.perf_counter()
    try:
        outputs = [run_sample(args.fresh_processes) for _ in range(args.runs)]
    finally:
        for proc in competitors:
            proc.kill()
            proc.wait()
    distinct = Counter(outputs)
    data = {"command": " ".join(["python", *SAMPLE]), "runs": args.runs,
            "fresh_processes": args.fresh_processes,
            "competitors": args.competitors, "distinct_outputs": len(distinct),
            "runs_per_output": sorted(distinct.values(), reverse=True),
            "all_identical": len(distinct) == 1, "wall_s": time.perf_counter() - started,
            "load_average_at_start": list(load_start), "load_average_at_end": list(os.getloadavg())}
    md = "\n".join([
        "# Seeded `qhil sample` under load", "", f"`{data['command']}`", "",
        f"{args.runs} runs ({'one process each' if args.fresh_processes else 'in one process'}) "
        f"with {args.competitors} CPU-bound competing processes: "
        f"{len(distinct)} distinct output(s) {data['runs_per_output']}; "
        f"all identical: {'yes' if data['all_identical'] else 'NO'}.", "",
        f"Load average at start {load_start[0]:.2f}, at end {data['load_average_at_end'][0]:.2f}."])
    write_results("check_seeded_sampling", data, md)
    return 0 if data["all_identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
