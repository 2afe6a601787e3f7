"""qhil against Aer on Aer's best case: ONE parameterised circuit (fixed CZ ring) bound 256 times.

bench_simulators.py measures the paper's data-dependent CZ, where each sample is its own circuit
for Aer; this checks the ratio where Aer needs a single circuit. Medians of 7 after a warm-up.

    .venv/bin/python benchmarks/bench_aer_fixed_structure.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)
from simulator_peers import Workload, run_aer, run_aer_prebuilt, run_qhil  # noqa: E402

OUT = results_dir() / "aer_fixed_structure.json"  # benchmarks/_results.py


def median_ms(fn, repeats: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    batch, layers, n = 256, 10, 10
    angles = np.random.default_rng(0).uniform(0, 2 * np.pi, (batch, layers, n, 2))
    ring = np.array([(j, (j + 1) % n) for j in range(n)])
    work = Workload(angles, np.broadcast_to(ring, (batch, layers, n, 2)).copy(), 100, 1)
    qhil_ms = median_ms(lambda: run_qhil(work))
    rows = {"qhil": qhil_ms, "aer-prebuilt": median_ms(lambda: run_aer_prebuilt(work, 2)),
            "aer": median_ms(lambda: run_aer(work, 2))}
    for name, ms in rows.items():
        print(f"{name:<13} {ms:9.1f} ms   qhil speed-up {ms / qhil_ms:5.1f}x")
    OUT.write_text(json.dumps({"workload": "n=10 L=10 B=256 S=100, fixed CZ ring",
                               "median_ms": rows}, indent=2))


if __name__ == "__main__":
    main()
