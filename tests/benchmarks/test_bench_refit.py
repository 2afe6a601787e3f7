"""bench_refit: both trainers start equal and take the two paths; its report (no timings)."""


import torch

from qhil import HDQNNAnsatz
from tests.benchmarks.scripts import load_benchmark


def load_script():
    return load_benchmark("bench_refit")


def test_trainers_start_equal_and_take_the_fast_and_autograd_paths():
    bench = load_script()
    fast, slow, (q_in, q_out) = bench.trainers(bench.CASES["pendulum"])
    assert fast.fast_step is not None and slow.fast_step is None
    for a, b in zip(fast.qtdnn.parameters(), slow.qtdnn.parameters(), strict=True):
        assert torch.equal(a, b) and a is not b
    assert q_in.shape == (512, HDQNNAnsatz(4, 2).control_dim)
    assert q_out.shape == (512, 4)


def test_markdown_reports_medians_and_speedup():
    bench = load_script()
    data = {"threads": 2, "load_start": [1.0, 1.0, 1.0], "load_end": [2.0, 1.0, 1.0],
            "cases": {"humanoid": {"median_ms": {"fast": 10.0, "autograd": 25.0}, "speedup": 2.5}}}
    text = bench.markdown(data)
    assert "| humanoid | 10.0 | 25.0 | 2.50x |" in text and "load average 1.0 at start" in text
