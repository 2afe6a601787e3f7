"""benchmarks/_results.py: benchmarks write outside the committed results unless asked."""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks.scripts import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


def load():
    return load_benchmark("_results")


def test_default_is_outside_the_committed_results(tmp_path):
    results = load()
    argv = ["bench.py", "--quick"]
    assert results.results_dir(argv) == ROOT / "runs" / "benchmarks" and argv == ["bench.py", "--quick"]


def test_update_results_and_a_chosen_folder_are_taken_out_of_argv(tmp_path):
    results = load()
    argv = ["bench.py", "--update-results", "--quick"]
    assert results.results_dir(argv) == ROOT / "benchmarks" / "results" and argv == ["bench.py", "--quick"]
    for argv in (["b.py", "--results-dir", str(tmp_path / "a"), "-x"], ["b.py", f"--results-dir={tmp_path / 'a'}", "-x"]):
        assert results.results_dir(argv) == tmp_path / "a" and argv == ["b.py", "-x"]
        assert (tmp_path / "a").is_dir()


def test_every_benchmark_that_writes_results_uses_the_helper():
    for script in (ROOT / "benchmarks").glob("*.py"):
        text = script.read_text()
        assert 'ROOT / "benchmarks" / "results"' not in text or script.name == "_results.py", script
        assert 'parent / "results"' not in text, script
