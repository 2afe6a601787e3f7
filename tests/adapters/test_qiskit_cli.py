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


def test_sample_on_the_cloud_sends_a_dry_run_first(capsys, monkeypatch):
    from qhil.adapters.qiskit_runtime import IBMProvider
    from tests.adapters.scripted_runtime import ScriptedRuntime

    runtime = ScriptedRuntime(states=["DONE"])  # done at the first poll: no 2 s poll waits
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "not-a-real-token")
    monkeypatch.setattr(IBMProvider, "_make_client", lambda self: runtime)
    code, out, err = run_cli(capsys, "sample", "--provider", "ibm-torino", "--qubits", "3",
                             "--layers", "2", "--batch", "2", "--shots", "10", "--yes", "--json")
    assert code == 0 and len(runtime.dry_runs) == 1 and runtime.runs == 1
    assert f"dry run {runtime.dry_runs[0].job_id()} accepted" in err
    assert json.loads(out)["job_id"] != runtime.dry_runs[0].job_id()


def test_train_dry_runs_a_batch_shaped_like_one_step():
    from qhil.commands.train import first_batch
    from qhil.rl.config import TrainConfig

    config = TrainConfig().with_overrides(**{"num_envs": 3, "quantum.shots": 17,
                                             "quantum.qubits": 5})
    request = first_batch(config)
    assert (request.batch_size, request.n_qubits, request.shots) == (3, 5, 17)
