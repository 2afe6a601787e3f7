"""Run PennyLane's own device test suite (`pennylane.devices.tests`, shipped in PennyLane's wheel)
on the qhil device, as `pl-device-test --device qhil --shots N --skip-ops` does, and count.
A child process runs it (its options and conftest are pytest's own); nothing here imports pytest.

    outcome = run_suite(["test_tracker.py"], shots=20000)    outcome.passed, outcome.reasons()

The suite needs pytest-mock and flaky (qhil[dev]). Where the `qhil` device is not registered
(a source checkout that was never installed), a throwaway entry point in a temporary folder on
PYTHONPATH registers it for the child process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout (or site-packages) holding qhil
OUTCOMES = ("passed", "failed", "skipped", "xfailed", "xpassed", "error")


@dataclass(frozen=True)
class SuiteOutcome:
    """Counts from pytest's summary line, and the run's full output (reasons of skips included)."""

    counts: dict[str, int]
    output: str

    def __getattr__(self, name: str) -> int:
        if name in OUTCOMES:
            return self.counts.get(name, 0)
        raise AttributeError(name)

    def reasons(self) -> list[str]:
        """pytest's -rsxX lines: every skip, expected failure and unexpected pass with its reason,
        paths made relative to the suite's folder."""
        return self._lines(("SKIPPED", "XFAIL", "XPASS"))

    def failures(self) -> list[str]:
        """pytest's -rfE lines: every failure and error with its exception's first line."""
        return self._lines(("FAILED", "ERROR"))

    def _lines(self, starts: tuple[str, ...]) -> list[str]:
        return [re.sub(r"\S*devices/tests/", "", line) for line in self.output.splitlines()
                if line.startswith(starts)]


def suite_dir() -> Path:
    import pennylane.devices.tests as tests

    return Path(tests.__file__).parent


def run_suite(files: list[str], shots: int | None, extra: list[str] = (),
              timeout_s: float = 1800) -> SuiteOutcome:
    """Run the suite's `files` (all of it for []) on qhil at `shots` (None: analytic)."""
    folder = suite_dir()
    targets = [str(folder / f) for f in files] or [str(folder)]
    command = [sys.executable, "-m", "pytest", *targets, "-c", str(folder / "pytest.ini"),
               "--rootdir", str(folder), "--device", "qhil", "--shots", str(shots),
               "--skip-ops", "-q", "-rfEsxX", "-p", "no:cacheprovider", *extra]
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              env=_env(Path(scratch)), cwd=scratch)
    return SuiteOutcome(_counts(done.stdout), done.stdout + done.stderr)


def _env(scratch: Path) -> dict[str, str]:
    paths = [str(ROOT)]
    if "qhil" not in {e.name for e in metadata.entry_points(group="pennylane.plugins")}:
        info = scratch / "qhil_device_entry-0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: qhil-device-entry\n"
                                       "Version: 0\n")
        (info / "entry_points.txt").write_text(
            "[pennylane.plugins]\nqhil = qhil.pennylane:QhilDevice\n")
        paths.append(str(scratch))
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths + ([old] if old else [])),
            "COLUMNS": "400"}  # room for each failure's error in pytest's short summary


def _counts(output: str) -> dict[str, int]:
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    found = re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)", lines[-1]) \
        if lines else []
    return {name.rstrip("s") if name.startswith("error") else name: int(n) for n, name in found}
