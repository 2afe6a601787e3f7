"""probe_more_points: the pool of fresh points and the probe on a tiny trained run."""

import torch

from tests.benchmarks.scripts import load_benchmark
from tests.commands.trained import train_run


def test_the_pool_draws_from_every_batch_of_points_it_was_given():
    probe = load_benchmark("probe_more_points")
    pool = probe.Pool(shots=10, generator=torch.Generator().manual_seed(0))
    pool.q, pool.y = [torch.zeros(3, 2), torch.ones(2, 2)], [torch.full((3, 4), 0.3), torch.full((2, 4), 0.7)]
    # (Pool.add samples its marginals from the exact ones; the probe test below runs it)
    q, y = pool.draw(50)
    assert q.shape == (50, 2) and set(q[:, 0].tolist()) == {0.0, 1.0}  # both additions drawn from
    assert set(torch.round(y * 10).flatten().tolist()) <= {3.0, 7.0}


def test_probe_refits_a_copy_with_and_without_fresh_points(tmp_path):
    probe = load_benchmark("probe_more_points")
    run = train_run(tmp_path)
    before = sorted((p.name, p.stat().st_size) for p in run.iterdir() if p.is_file())
    rows = [probe.probe(run, refits=2, extra=extra, minibatches=1) for extra in (0, 4)]
    assert [r["extra_per_refit"] for r in rows] == [0, 4]
    for r in rows:
        assert 0 < r["unseen"] < 0.5 and 0 < r["asked"] < 0.5 and -1 <= r["grad_cosine"] <= 1
    assert sorted((p.name, p.stat().st_size) for p in run.iterdir() if p.is_file()) == before  # a copy
    md = probe.markdown(rows, "benchmarks/probe_more_points.py", "[0] -> [0]")
    assert md.count(str(run)) == 2 and "Load [0] -> [0]" in md
