"""benchmarks/check_trust.py's table of issue 26's second-round inputs: every test it names
exists, and its outcomes are counted per input (a bare test id counts its parametrized cases)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.benchmarks.scripts import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


def test_every_input_and_fault_names_tests_that_pytest_collects():
    table = load_benchmark("trust_inputs")
    assert len(table.INPUTS) == 20 and all(tests for _, _, tests, _ in table.INPUTS)
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *table.node_ids()], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    added = {a for *_, names in table.INPUTS for a in names} | set(table.ADDED_FAULT_TESTS)
    assert all(any(a in i for i in table.node_ids()) for a in added)


def test_a_bare_id_counts_its_parametrized_cases_and_a_file_all_of_its_own():
    script = load_benchmark("check_trust")
    cases = [{"node": n, "outcome": o} for n, o in [
        ("tests/a.py::test_x[1]", "passed"), ("tests/a.py::test_x[2]", "failed"),
        ("tests/a.py::test_xy", "passed"), ("tests/b.py::test_z", "passed")]]
    assert script._tally(cases, ["tests/a.py::test_x"]) == "1/2"
    assert script._tally(cases, ["tests/a.py::test_x[1]", "tests/b.py"]) == "2/2"
    assert script._tally(cases, ["tests/a.py::test_gone"]) == "0/0"
