"""benchmarks/check_fresh_clones.py: what it reads from each clone's `make test` output."""

from __future__ import annotations

from tests.benchmarks.scripts import load_benchmark

LOG = """........F.....s
=========================== short test summary info ============================
SKIPPED [1] tests/report/test_html_chromium.py:20: no chromium
FAILED tests/quantum/test_simulator_kernels.py::test_n16_small_batch_matches_axis_reference - Ass
ERROR tests/qtrl/test_qtrl_command.py::test_budget - sqlite3.OperationalError: database is locked
1 failed, 821 passed, 1 skipped, 1 error in 312.40s (0:05:12)
"""


def test_summary_reads_the_counts_and_the_failing_tests():
    summary = load_benchmark("check_fresh_clones").summary_of(LOG)
    assert (summary["passed"], summary["failed"], summary["errors"], summary["skipped"]) == (821, 1, 1, 1)
    assert summary["failing"] == [
        "tests/quantum/test_simulator_kernels.py::test_n16_small_batch_matches_axis_reference",
        "tests/qtrl/test_qtrl_command.py::test_budget"]


def test_a_log_without_a_pytest_summary_counts_nothing():
    summary = load_benchmark("check_fresh_clones").summary_of("make: *** [test] Error 2\n")
    assert summary == {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failing": []}


def test_markdown_states_how_many_were_green_and_each_clone():
    script = load_benchmark("check_fresh_clones")
    rows = [{"clone": 1, "green": True, "wall_s": 300.0, **script.summary_of("5 passed in 1s")},
            {"clone": 2, "green": False, "wall_s": 310.0, **script.summary_of(LOG)}]
    text = script.markdown(rows, {"commit": "abc", "venv": "/v", "load_start": [1], "load_end": [2]})
    assert "**1 of 2 green.**" in text and "| 2 | RED | 821 | 1 | 1 | 1 | 310.0 |" in text
