"""bench_roofline: the kernel's byte/flop count, and a --quick run's JSON (no timing asserts)."""

import json
import subprocess
import sys
from pathlib import Path

from tests.benchmarks.scripts import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


def test_layer_traffic_counts_one_pass_per_group_and_the_cz():
    bench = load_benchmark("bench_roofline")
    state = 8 * 2 ** 16
    ring = bench.layer_traffic(16, "ring")
    assert ring["groups"] == [4, 4, 4, 4] and ring["passes"] == 5
    assert ring["bytes"] == 4 * (2 * state + 2 * 8 * 256) + 3 * state
    assert ring["flops"] == 4 * 8 * 2 ** 16 * 16
    assert bench.layer_traffic(16, "data")["bytes"] < ring["bytes"]  # a quarter-row negation
    assert bench.batch_for(20, 64) == 8 and bench.batch_for(10, 64) == 8192


def test_quick_run_writes_the_roofline_json(tmp_path):
    subprocess.run([sys.executable, "benchmarks/bench_roofline.py", "--quick", "--results-dir",
                    str(tmp_path)], cwd=ROOT, check=True, capture_output=True, timeout=300,
                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    out = json.loads((tmp_path / "roofline.json").read_text())
    assert {"command", "cpu_model", "torch_threads", "load_start", "load_end", "bandwidth",
            "rows"} <= out.keys()
    assert set(out["bandwidth"]) == {"dram", "chunk"}
    assert set(out["bandwidth"]["dram"]) == {"float32", "complex64"}
    assert {(r["n_qubits"], r["entangler"]) for r in out["rows"]} == {
        (n, e) for n in (10, 14) for e in ("ring", "data")}
    assert {"per_layer_s", "memory_bound_dram_s", "compute_bound_s",
            "fraction_of_roofline_dram"} <= out["rows"][0].keys()
    assert (tmp_path / "roofline.md").read_text().startswith("# Roofline")
