"""`qhil sample` through the Dispatcher: budget flags and --ledger."""

from __future__ import annotations

import json

import pytest

from qhil.execution.ledger import Ledger
from tests.test_cli import run_cli

BASE = ("sample", "--qubits", "3", "--layers", "2", "--batch", "4", "--shots", "50", "--json")


def test_ledger_records_then_reuses(capsys, tmp_path):
    path = tmp_path / "ledger.sqlite"
    code, out, _ = run_cli(capsys, *BASE, "--ledger", str(path), "--budget-shots", "200")
    first = json.loads(out)
    assert code == 0 and first["cost_usd"] == "0"
    second = json.loads(run_cli(capsys, *BASE, "--ledger", str(path), "--budget-shots", "1")[1])
    assert second["job_id"] == first["job_id"] and second["marginals"] == first["marginals"]
    with Ledger(path) as ledger:
        assert ledger.totals().jobs == 1 and ledger.totals().shots == 200


@pytest.mark.parametrize("argv,fragment", [
    (["--budget-shots", "199"], "left: 199 shots"),
    (["--budget-jobs", "0"], "--budget-jobs"),
    (["--budget-usd", "-1"], "--budget-usd"),
    (["--budget-usd", "lots"], "--budget-usd"),
    (["--provider", "chaos-faults", "--budget-usd", "0.50"], "left: unlimited shots, $0.50"),
])
def test_budget_refusals_are_one_line_exit_2(capsys, tmp_path, argv, fragment):
    code, out, err = run_cli(capsys, *BASE, "--ledger", str(tmp_path / "l.sqlite"), *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and fragment in err
    if "left" in fragment:
        with Ledger(tmp_path / "l.sqlite") as ledger:
            assert ledger.entries() == []
