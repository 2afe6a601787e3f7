"""The command line, run in-process: output contracts and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from qhil.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_sample_json_contract(capsys):
    code, out, _ = run_cli(capsys, "sample", "--provider", "local", "--qubits", "3", "--layers",
                           "2", "--batch", "4", "--shots", "50", "--seed", "3", "--json")
    report = json.loads(out)
    assert code == 0
    for key in ("provider", "qubits", "layers", "batch", "shots", "marginals", "latency_s"):
        assert key in report
    assert report["provider"] == "local" and len(report["marginals"]) == 4
    assert all(len(row) == 3 for row in report["marginals"])


def test_sample_is_reproducible_with_a_seed(capsys):
    args = ("sample", "--qubits", "3", "--batch", "2", "--seed", "9", "--json")
    first = json.loads(run_cli(capsys, *args)[1])["marginals"]
    assert json.loads(run_cli(capsys, *args)[1])["marginals"] == first


@pytest.mark.parametrize("argv,fragment", [
    (["sample", "--shots", "0"], "--shots"),
    (["sample", "--shots", "-5"], "--shots"),
    (["sample", "--batch", "ten"], "--batch"),
    (["sample", "--qubits", "40"], "qubits"),
    (["sample", "--provider", "nowhere"], "unknown provider"),
    (["sample", "--provider", "/tmp/missing-profile.toml"], "no such file"),
    (["sample", "--entangler", "star"], "--entangler"),
    (["no-such-command"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and fragment in err


def test_malformed_profile_names_file_and_field(capsys, tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('name = "mine"\nkind = "local"\n[limits]\nmax_qubits = 4\nmax_shotz = 3\n')
    code, _, err = run_cli(capsys, "sample", "--provider", str(bad))
    assert code == 2 and str(bad) in err and "limits.max_shotz" in err


def test_providers_lists_local_as_usable(capsys):
    code, out, _ = run_cli(capsys, "providers", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and rows["local"]["usable"] is True


def test_providers_flag_a_broken_profile_and_a_missing_calibration_beside_the_good_ones(
        capsys, tmp_path, monkeypatch):
    (tmp_path / "aaa-broken.toml").write_text('name = "aaa-broken"\nkind = "local\n')
    (tmp_path / "nocal.toml").write_text('name = "nocal"\nkind = "local"\ndevice = "embedded"\n'
                                         'calibration = "calibration/gone.toml"\n'
                                         '[limits]\nmax_qubits = 8\n')
    monkeypatch.setenv("QHIL_PROVIDERS_PATH", str(tmp_path))
    code, out, _ = run_cli(capsys, "providers", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and rows["local"]["usable"] and rows["braket-local"]
    assert rows["aaa-broken"]["status"] == "invalid" and "not valid TOML" in rows["aaa-broken"]["reason"]
    assert rows["nocal"]["status"] == "unusable" and "gone.toml" in rows["nocal"]["reason"]
    code, out, _ = run_cli(capsys, "providers")
    assert code == 0 and "INVALID profile" in out and "local " in out
