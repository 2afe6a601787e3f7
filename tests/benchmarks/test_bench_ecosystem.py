"""bench_ecosystem (PennyLane part): its reports, from synthetic records (no suite run)."""

import pytest

from tests.benchmarks.scripts import load_benchmark

pytest.importorskip("pennylane")


def test_the_suite_report_states_the_pass_rate_and_every_reason():
    bench = load_benchmark("bench_ecosystem")
    record = {"shots": 20000, "provider": "local", "wall_s": 90.0, "machine_load": [1.0, 1.0, 1.0],
              "counts": {"passed": 95, "failed": 5, "skipped": 3}, "applicable": 100,
              "pass_rate": 0.95, "failures": ["FAILED test_gates.py::test_x"],
              "reasons": ["SKIPPED [3] test_gates.py:1: analytic only"]}
    record["analytic"] = {**record, "shots": None, "counts": {"passed": 90, "failed": 0, "skipped": 7},
                          "applicable": 90, "pass_rate": 1.0, "failures": [],
                          "reasons": ["SKIPPED [7] test_gates.py:2: shots only"]}
    text = bench.suite_markdown(record)
    assert "95.0% (95 of 100)" in text and "95 passed, 5 failed, 3 skipped" in text
    assert "100.0% (90 of 90)" in text and "- SKIPPED [7] test_gates.py:2: shots only" in text
    assert "- FAILED test_gates.py::test_x" in text
    assert "- SKIPPED [3] test_gates.py:1: analytic only" in text


def test_the_gradient_report_has_a_row_per_device():
    bench = load_benchmark("bench_ecosystem")
    record = {"parameters": 24, "wires": 4, "shots": 1000, "machine_load": [1.0, 1.0, 1.0],
              "rows": [{"device": "qhil (braket-local)", "jobs": 2, "circuits": 49, "wall_s": 1.5},
                       {"device": "braket.local.qubit", "skipped": "not installed"}]}
    text = bench.gradient_markdown(record)
    assert "| qhil (braket-local) | 2 | 49 | 1.5 |" in text
    assert "| braket.local.qubit | not run: not installed | | |" in text
