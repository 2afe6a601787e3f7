"""Qiskit Machine Learning's SamplerQNN + TorchConnector trains through qhil.qiskit.Sampler as
it does on Qiskit's reference StatevectorSampler (same data, weights, optimiser and shots; the
classifier is benchmarks/bench_qiskit_ml.py's)."""

from __future__ import annotations

import pytest

from tests.benchmarks.scripts import load_benchmark

pytest.importorskip("qiskit_machine_learning", reason="needs qhil[qiskit-ml]")


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_sampler_qnn_trains_on_qhil_as_on_the_reference_sampler():
    from qiskit.primitives import StatevectorSampler

    from qhil.qiskit import Sampler

    bench = load_benchmark("bench_qiskit_ml")
    ours, losses = bench.train(Sampler("local", seed=1, default_shots=1024))
    reference, _ = bench.train(StatevectorSampler(seed=1, default_shots=1024))
    assert losses[-1] < 0.7 * losses[0]  # it learned: the loss fell by more than 30%
    assert ours >= reference - 0.02, (ours, reference)
