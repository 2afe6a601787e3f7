"""`qhil sample` and `qhil providers` with the Qiskit profiles."""

from __future__ import annotations

import json

from tests.test_cli import run_cli


def test_sample_json_on_local_testing_mode(capsys):
    code, out, _ = run_cli(capsys, "sample", "--provider", "ibm-fake-sherbrooke", "--qubits", "3",
                           "--layers", "2", "--batch", "3", "--shots", "64", "--seed", "5", "--json")
    report = json.loads(out)
    assert code == 0 and report["provider"] == "ibm-fake-sherbrooke"
    assert len(report["marginals"]) == 3 and report["shots"] == 64


def test_cloud_profile_without_credentials_is_one_line_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    code, out, err = run_cli(capsys, "sample", "--provider", "ibm-torino", "--qubits", "3",
                             "--layers", "2", "--batch", "2", "--shots", "10")
    assert code == 2 and "QISKIT_IBM_TOKEN" in err and len(err.strip().splitlines()) == 1


def test_providers_json_lists_the_qiskit_profiles(capsys):
    code, out, _ = run_cli(capsys, "providers", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and rows["aer"]["usable"] and rows["ibm-fake-torino"]["usable"]
    assert rows["ibm-torino"]["kind"] == "ibm" and rows["aer-noisy-torino"]["kind"] == "aer"
