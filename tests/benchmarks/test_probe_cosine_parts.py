"""probe_cosine_parts: the straight-through mix and the probe on a tiny trained run."""

import torch

from tests.benchmarks.scripts import load_benchmark
from tests.commands.trained import train_run


def test_mix_takes_one_tensors_value_and_the_others_gradient():
    probe = load_benchmark("probe_cosine_parts")
    a, b = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([5.0, 7.0], requires_grad=True)
    y = probe.mix(a * 3, b * b)
    y.sum().backward()
    assert torch.equal(y.detach(), torch.tensor([3.0, 6.0]))
    assert a.grad is None and torch.equal(b.grad, torch.tensor([10.0, 14.0]))


def test_probe_splits_a_trained_runs_cosine_into_its_value_and_jacobian_parts(tmp_path):
    probe = load_benchmark("probe_cosine_parts")
    row = probe.probe(train_run(tmp_path), minibatches=2)
    assert set(probe.PARTS) <= set(row) and all(-1.0 <= row[k] <= 1.0 for k in probe.PARTS)
    assert row["value_error"] > 0 and 0 < row["shot_noise"] < 0.5 and row["minibatches"] == 2
    assert 0 < row["value_error_fit"] < 0.5 and 0 < row["value_error_unseen"] < 0.5
    md = probe.markdown([row], "benchmarks/probe_cosine_parts.py", "[0, 0, 0] -> [0, 0, 0]")
    assert row["run"] in md and "exact Jacobian" in md and "Load [0, 0, 0]" in md
