"""How fast the `qhil` command answers `--help` and argument errors (target: under 0.5 s).

    .venv/bin/python benchmarks/bench_cli_startup.py [--repeats 5] [--tree DIR --label NAME]

Each command runs `python -m qhil ...` in a fresh interpreter, `--repeats` times; the figure is
the median wall time (the process from start to exit, interpreter start-up included). `--tree`
measures another checkout of qhil for a before/after, e.g.
`git archive 8e7087e | tar -x -C /tmp/qhil-base` then `--tree /tmp/qhil-base --label before`.
Writes benchmarks/results/cli_startup.{json,md}, keeping other labels' rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)
TARGET_S = 0.5
COMMANDS = (["--help"], ["train", "--help"], ["sample", "--shots", "0"], ["--version"],
            ["sample", "--help"], ["estimate", "--help"], ["qtrl", "--help"])


def wall_s(tree: Path, argv: list[str]) -> float:
    """Seconds one `python -m qhil ARGV` takes in `tree`, output discarded."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qhil", *argv], cwd=tree, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def measure(tree: Path, repeats: int) -> list[dict]:
    wall_s(tree, ["--help"])  # warm the file cache once, unrecorded
    rows = []
    for argv in COMMANDS:
        times = [wall_s(tree, argv) for _ in range(repeats)]
        median = statistics.median(times)
        rows.append({"command": "qhil " + " ".join(argv), "median_s": round(median, 3),
                     "min_s": round(min(times), 3), "max_s": round(max(times), 3),
                     "runs": repeats, "under_target": median < TARGET_S,
                     "load_1min": round(os.getloadavg()[0], 1)})
    return rows


def markdown(results: dict) -> str:
    lines = ["# CLI start-up: `--help` and argument errors", "",
             f"Median of {results['repeats']} runs of `python -m qhil ...` in a fresh interpreter "
             f"(wall time, interpreter start-up included); target under {TARGET_S} s. "
             f"Machine: {results['machine']}, shared with other work (load = 1-minute load "
             "average when the row was measured).", "",
             "| tree | command | median s | min s | max s | load | under 0.5 s |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for label, rows in results["trees"].items():
        for r in rows:
            lines.append(f"| {label} | `{r['command']}` | {r['median_s']:.3f} | {r['min_s']:.3f} "
                         f"| {r['max_s']:.3f} | {r['load_1min']} "
                         f"| {'yes' if r['under_target'] else 'NO'} |")
    lines += ["", "Reproduce (from the repository root):", ""]
    lines += [f"- {label}: `{command}`" for label, command in results["commands"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tree", type=Path, default=ROOT, help="qhil checkout to measure")
    parser.add_argument("--label", default="this tree", help="row label for --tree")
    args = parser.parse_args()
    path = RESULTS / "cli_startup.json"
    results = json.loads(path.read_text()) if path.exists() else {"trees": {}}
    results.update(repeats=args.repeats, machine=f"{os.cpu_count()} CPUs")
    results.setdefault("commands", {})[args.label] = "python " + shlex.join(sys.argv)
    results["trees"][args.label] = measure(args.tree.resolve(), args.repeats)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "cli_startup.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
