"""Issue 26's trust targets, run as the tests that state them and reported case by case:

    PYTHONPATH=. .venv/bin/python benchmarks/check_trust.py [--update-results]

- crafted checkpoints (tests/commands/test_safe_loading.py): a pickle with a payload, its manifest
  updated, in a run folder: every loader refuses it or loads safely; the payload never runs;
- hostile files and paths (tests/commands/test_hostile_files.py): each exits 2 with one line,
  within 5 s and 256 MiB, changing nothing;
- a full disk at seeded journal, ledger and checkpoint writes (tests/rl/test_disk_full.py): a
  clean stop naming the resume command, `qhil ledger --verify` passing, and a resume that loses
  no transition and buys no job twice.
Each file runs in its own pytest process; the outcome and seconds of every case are written to
check_trust.json and check_trust.md. Not a speed benchmark: exit 1 if any case failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _results import machine_load, results_dir  # noqa: E402  (benchmarks/ is on sys.path)

RESULTS = results_dir()
CHECKS = {"crafted checkpoints": "tests/commands/test_safe_loading.py",
          "hostile files and paths": "tests/commands/test_hostile_files.py",
          "disk full": "tests/rl/test_disk_full.py"}


def run_file(path: str) -> list[dict]:
    """Every case of one test file: name, outcome, seconds (from pytest's JUnit XML)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path,
                        f"--junitxml={report}"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return [_case(node) for node in ET.parse(report).iter("testcase")]


def _case(node: ET.Element) -> dict:
    outcome = "passed"
    for kind in ("failure", "error", "skipped"):
        if node.find(kind) is not None:
            outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
    return {"case": node.get("name"), "outcome": outcome, "seconds": round(float(node.get("time")), 2)}


def markdown(report: dict) -> str:
    lines = ["# Trust checks (issue 26)", "",
             f"Load average (1, 5, 15 min) at the start: {report['load']}.", "",
             "Seconds are pytest's per case, setup included (a file's first case builds its "
             "fixtures); the hostile files' 5 s bound is asserted inside each test around the "
             "command alone.", ""]
    for check, cases in report["checks"].items():
        passed = sum(c["outcome"] == "passed" for c in cases)
        slowest = max((c["seconds"] for c in cases), default=0)
        lines += [f"## {check}: {passed}/{len(cases)} passed (slowest {slowest:.2f} s)", "",
                  f"`{CHECKS[check]}`", "", "| case | outcome | s |", "| --- | --- | --- |"]
        lines += [f"| {c['case']} | {c['outcome']} | {c['seconds']:.2f} |" for c in cases]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    report = {"load": machine_load(), "checks": {name: run_file(path) for name, path in CHECKS.items()}}
    (RESULTS / "check_trust.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "check_trust.md").write_text(markdown(report))
    failed = [f"{check}: {c['case']}" for check, cases in report["checks"].items()
              for c in cases if c["outcome"] in ("failed", "error")]
    print(markdown(report) if not failed else "\n".join(["MISSED:", *failed]))
    return 1 if failed or not all(report["checks"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
