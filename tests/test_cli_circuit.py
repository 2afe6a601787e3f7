"""`--circuit FILE.qasm` in sample, estimate and compare: outputs, and one-line exit-2 errors
naming the file's line with nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_cli import run_cli

GOOD = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] a;
input float[64] b;
qubit[3] q;
bit[3] c;
ry(a) q[0];
crx(2*b + 0.1) q[0], q[1];
cx q[1], q[2];
c = measure q;
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "good.qasm").write_text(GOOD)
    np.save(tmp_path / "p.npy", np.random.default_rng(0).uniform(-3, 3, (4, 2)))
    np.save(tmp_path / "p3.npy", np.zeros((4, 3)))
    return tmp_path


def test_sample_circuit_json(capsys, files):
    code, out, _ = run_cli(capsys, "sample", "--circuit", str(files / "good.qasm"), "--params",
                           str(files / "p.npy"), "--shots", "400", "--provider", "local", "--json")
    report = json.loads(out)
    assert code == 0 and report["qubits"] == 3 and report["parameters"] == 2
    marginals = np.asarray(report["marginals"])
    assert marginals.shape == (4, 3)
    assert np.allclose(marginals[:, 1], marginals[:, 2])  # cx copies qubit 1 onto qubit 2


@pytest.mark.parametrize("line, text, message", [
    (7, "ry(a) q[0]", "line 7: syntax error"),
    (9, "cxx q[1], q[2];", "line 9: unknown gate 'cxx'"),
])
def test_sample_circuit_mistakes_exit_2_naming_the_line(capsys, files, line, text, message):
    lines = GOOD.splitlines()
    lines[line - 1] = text
    (files / "bad.qasm").write_text("\n".join(lines))
    ledger = files / "ledger.sqlite"
    code, out, err = run_cli(capsys, "sample", "--circuit", str(files / "bad.qasm"), "--params",
                             str(files / "p.npy"), "--ledger", str(ledger))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message in err and "bad.qasm" in err
    assert not ledger.exists()


def test_sample_circuit_parameter_count_mismatch(capsys, files):
    ledger = files / "ledger.sqlite"
    code, out, err = run_cli(capsys, "sample", "--circuit", str(files / "good.qasm"), "--params",
                             str(files / "p3.npy"), "--ledger", str(ledger))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "line 4" in err and "declares 2 inputs (a, b)" in err and "(4, 3)" in err
    assert not ledger.exists()


def test_estimate_circuit_per_batch_and_per_update(capsys, files):
    code, out, _ = run_cli(capsys, "estimate", "--circuit", str(files / "good.qasm"), "--batch",
                           "64", "--shots", "1000", "--provider", "ibm-torino", "--json")
    report = json.loads(out)
    per = report["per_update"]
    assert code == 0 and report["per_batch"]["circuits"] == 64
    # parameter-shift: the forward batch + 2 shifts for ry(a) + 4 (four-term rule) for crx(b)
    assert per["parameter-shift"]["circuits"] == 64 * (1 + 2 + 4)
    assert float(per["parameter-shift"]["cost_usd"]) > float(per["qtdnn"]["cost_usd"]) > 0


def test_estimate_circuit_honours_method_and_the_defaults_its_help_states(capsys, files):
    code, out, _ = run_cli(capsys, "estimate", "--circuit", str(files / "good.qasm"), "--provider",
                           "ibm-torino", "--method", "parameter-shift", "--json")
    report = json.loads(out)
    assert code == 0 and list(report["per_update"]) == ["parameter-shift"]
    assert (report["batch"], report["shots"]) == (256, 100)  # --help: default 256, default 100


@pytest.mark.parametrize("flags,says", [
    (["--config", "x.toml"], "--config does not apply to --circuit"),
    (["--from-run", "runs/x"], "--from-run does not apply"),
    (["--qubits", "3"], "--qubits does not apply"),
    (["--per-shot-usd", "1"], "--per-shot-usd does not apply"),
    (["--method", "spsa"], "--method spsa is not priced for --circuit")])
def test_estimate_circuit_refuses_flags_it_would_ignore(capsys, files, flags, says):
    code, out, err = run_cli(capsys, "estimate", "--circuit", str(files / "good.qasm"),
                             "--provider", "ibm-torino", *flags)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and says in err, err


def test_estimate_circuit_refuses_a_circuit_wider_than_the_device(capsys, files):
    wide = files / "wide.qasm"
    wide.write_text("OPENQASM 3.0;\nqubit[30] q;\nh q[0];\ncx q[0], q[29];\n")
    code, out, err = run_cli(capsys, "estimate", "--circuit", str(wide), "--provider",
                             "braket-iqm-garnet")
    assert code == 2 and out == "" and "has 30 qubits; 'braket-iqm-garnet' has 20" in err, err


def test_compare_circuit_adds_a_user_probe(capsys, files):
    out_dir = files / "report"
    code, _, _ = run_cli(capsys, "compare", "--providers", "local", "--circuit",
                         str(files / "good.qasm"), "--qubits", "3", "--layers", "2", "--batch",
                         "3", "--shots", "200", "--repeats", "1", "--out", str(out_dir))
    assert code == 0
    assert "user-circuit" in (out_dir / "report.md").read_text()
