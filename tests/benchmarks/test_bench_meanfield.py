"""bench_meanfield: the frozen baseline and today's function agree; its report (no timings)."""

from tests.benchmarks.scripts import load_benchmark


def test_frozen_baseline_agrees_with_meanfield_marginals():
    bench = load_benchmark("bench_meanfield")
    diffs = bench.agree(*bench.inputs(4, 2))
    assert diffs["value"] < 1e-6 and diffs["grad"] < 1e-5


def test_markdown_reports_both_modes_with_the_load():
    bench = load_benchmark("bench_meanfield")
    med = {f"{v}_{m}_us": t for v, t in (("frozen", 300.0), ("new", 100.0))
           for m in ("forward", "forward_backward")}
    data = {"command": "benchmarks/bench_meanfield.py", "repeats": 3, "calls": 2,
            "load_start": [1.0, 1.0, 1.0], "load_end": [2.0, 1.0, 1.0],
            "cases": {"humanoid 10x10": {"median_us": med, "speedup": {"forward": 3.0,
                      "forward_backward": 3.0}, "max_abs_diff": {"value": 0.0, "grad": 0.0}}}}
    text = bench.markdown(data)
    assert "| humanoid 10x10 | forward + backward | 300 | 100 | 3.00x |" in text
    assert "load average [1.0, 1.0, 1.0] at start" in text
