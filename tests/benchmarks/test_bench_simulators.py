"""The simulator benchmark script runs end to end and writes valid results (never timings)."""

import json

import pytest

from tests.benchmarks.scripts import load_benchmark


def load_script():
    return load_benchmark("bench_simulators")


@pytest.mark.timeout(300)
def test_quick_run_writes_json_and_markdown_with_every_peer(tmp_path):
    bench = load_script()
    argv = ["--quick", "--qubits", "3", "--layers", "2", "--batch", "3", "--shots", "50",
            "--threads", "1", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    report = json.loads((tmp_path / "simulators.json").read_text())
    (workload,) = report["workloads"]
    assert (workload["n_qubits"], workload["layers"], workload["batch"]) == (3, 2, 3)
    assert set(workload["engines"]) == {"qhil", *bench.PEERS, "best-aer"}
    for name, engine in workload["engines"].items():
        assert engine["repeats"] >= 1 and engine["median_s"] > 0, name
        assert engine["agrees_with_exact"]["ok"], name
    assert set(workload["goals"]) == {*bench.PEERS, "best-aer"}
    best = min(workload["engines"][a]["median_s"] for a in bench.AER)
    assert workload["engines"]["best-aer"]["median_s"] == best
    text = (tmp_path / "simulators.md").read_text()
    assert "| aer |" in text and "max_parallel_experiments=0" in text and "Machine load" in text


def test_unknown_peer_is_a_usage_error():
    bench = load_script()
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["--peers", "aer,cirq"])
    assert exit_info.value.code == 2


def test_peers_agree_on_a_workload_with_repeated_structures():
    bench = load_script()
    work = bench.make_workload(4, 2, 6, 2000)
    work.cz[:] = work.cz[0]  # one CZ structure: Aer binds 6 values to one circuit
    exact = bench.exact_marginals(work)
    for engine in ("einsum", "aer", "aer-parallel", "aer-sampler"):
        assert bench.agrees(engine, work, exact)["ok"], engine


def test_ring_workload_shares_one_structure_and_peers_agree():
    bench = load_script()
    work = bench.make_workload(4, 2, 5, 2000, entangler="ring")
    assert bench.entangler_of(work) == "ring" and work.cz.shape[2] == 4
    exact = bench.exact_marginals(work)
    for engine in ("aer-sampler", "lightning"):
        assert bench.agrees(engine, work, exact)["ok"], engine
