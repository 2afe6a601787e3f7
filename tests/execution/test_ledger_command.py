"""`qhil ledger PATH`: totals and per-provider latency percentiles; bad paths exit 2."""

from __future__ import annotations

import json

from tests.test_cli import run_cli

SAMPLE = ("sample", "--qubits", "3", "--layers", "2", "--batch", "4", "--shots", "50", "--json")


def test_reports_each_provider(capsys, tmp_path):
    path = str(tmp_path / "ledger.sqlite")
    for provider in ("local", "chaos-faults"):
        run_cli(capsys, *SAMPLE, "--provider", provider, "--ledger", path, "--yes")
    code, out, _ = run_cli(capsys, "ledger", path, "--json")
    report = json.loads(out)
    assert code == 0 and set(report["providers"]) == {"local", "chaos-faults"}
    assert report["totals"]["jobs"] == 2 and report["totals"]["resubmitted"] == 0
    assert report["providers"]["chaos-faults"]["totals"]["cost_usd"] == "0.59000"
    latency = report["providers"]["local"]["latency"]
    assert latency["jobs"] == 1 and latency["round_trip_s"]["p50"] > 0
    code, out, _ = run_cli(capsys, "ledger", path)
    assert code == 0 and "chaos-faults: 1 jobs, $0.59" in out and "round_trip_s" in out


def test_missing_or_foreign_files_are_one_line_errors(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("not a database, just some text " * 100)
    for path, fragment in ((tmp_path / "none.sqlite", "no such ledger"),
                           (tmp_path / "notes.txt", "not a qhil ledger")):
        code, out, err = run_cli(capsys, "ledger", str(path))
        assert code == 2 and out == "" and fragment in err and len(err.strip().splitlines()) == 1
