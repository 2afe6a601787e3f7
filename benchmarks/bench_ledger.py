"""Ledger cost per job: four writes and two reads, NORMAL vs FULL sync (the Dispatcher made these
until 038aa51; it now makes three writes and one read, `Ledger.known`, so this is an upper bound).

    .venv/bin/python benchmarks/bench_ledger.py [--jobs 200]

NORMAL (the default) survives kill -9 (see bench_kill_resume.py); FULL, which the Dispatcher turns
on for a provider that bills, also survives power loss. Each job writes a row, its attempt, its id
and its result (256 circuits x 10 qubits with counts) and reads the reuse and re-attach queries.
Writes benchmarks/results/bench_ledger.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

from qhil.execution.job import JobTimings, SamplingResult  # noqa: E402
from qhil.execution.ledger import Ledger  # noqa: E402

RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def a_result(rng: np.random.Generator) -> SamplingResult:
    counts = [{format(int(k), "010b"): 1 for k in rng.integers(0, 1024, 100)} for _ in range(256)]
    return SamplingResult(rng.random((256, 10)), 100, counts, "job", "p",
                          JobTimings(1.0, 1.0, 2.0, 3.0, 4.0))


def per_job_ms(durable: bool, jobs: int, result: SamplingResult) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "l.sqlite", durable) as ledger:
        for i in range(jobs):
            started = time.perf_counter()
            token = f"t{i}"
            ledger.begin(token, provider="p", device="d", request_hash=f"h{i}", circuits=256,
                         shots=25600, cost_usd=Decimal(0), submit_called_at=0.0)
            ledger.attempt(token, 1)
            ledger.submitted(token, f"job{i}")
            ledger.finished(token, result, fetched_at=4.0)
            ledger.find_result(f"h{i + 1}", "p")
            ledger.in_flight("p", f"h{i + 1}")
            times.append((time.perf_counter() - started) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    result = a_result(np.random.default_rng(0))
    rows = {mode: per_job_ms(mode == "FULL", args.jobs, result) for mode in ("NORMAL", "FULL")}
    medians = {mode: statistics.median(t) for mode, t in rows.items()}
    command = f".venv/bin/python benchmarks/bench_ledger.py --jobs {args.jobs}"
    md = "\n".join([
        "# Ledger cost per job (256 circuits x 10 qubits, with counts)", "", f"`{command}`", "",
        "| synchronous | median ms per job | p95 ms per job |", "| --- | --- | --- |",
        *(f"| {m} | {medians[m]:.2f} | {np.percentile(rows[m], 95):.2f} |" for m in rows),
        "", f"FULL / NORMAL: {medians['FULL'] / medians['NORMAL']:.1f}x", ""])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_ledger.json").write_text(json.dumps(
        {"command": command, "median_ms": medians,
         "p95_ms": {m: float(np.percentile(t, 95)) for m, t in rows.items()}}, indent=2))
    (RESULTS / "bench_ledger.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
