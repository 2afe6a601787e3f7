"""`qhil compare` in-process: the report files, failing providers as rows, dry run, --runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qhil.cli import main

SMALL = ["--qubits", "3", "--layers", "2", "--batch", "3", "--shots", "400", "--repeats", "2"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def profile(tmp_path: Path, name: str, kind: str = "local", max_qubits: int = 8,
            calibration: str = "") -> str:
    path = tmp_path / f"{name}.toml"
    cal = f'calibration = "{calibration}"\n' if calibration else ""
    path.write_text(f'name = "{name}"\nkind = "{kind}"\ndevice = "embedded"\n{cal}'
                    f"[limits]\nmax_qubits = {max_qubits}\nsupports_exact = true\n")
    return str(path)


def test_compare_writes_three_reports_with_every_figure(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "compare", "--providers", "local,local-noisy", *SMALL,
                           "--out", str(out))
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"report.html", "report.md", "report.json"}
    data = json.loads((out / "report.json").read_text())
    rows = {r["name"]: r for r in data["providers"]}
    for row in rows.values():
        assert row["status"] == "measured"
        lat = row["latency"]
        assert len(lat["round_trip_s"]) == 8  # 4 probes x 2 repeats
        assert lat["round_trip_s_p50"] <= lat["round_trip_s_p95"]
        assert row["circuits_per_s"] > 0 and row["shots_per_s"] == pytest.approx(
            400 * row["circuits_per_s"])
        assert {p["probe"] for p in row["probes"]} == {"hdqnn-data", "hdqnn-fixed", "ghz",
                                                       "random-pqc"}
        assert row["cost_per_1k_shots_usd"] == "0"
    ghz = {name: next(p for p in r["probes"] if p["probe"] == "ghz") for name, r in rows.items()}
    assert ghz["local"]["hellinger_fidelity"] > 0.995  # ideal: only shot noise
    assert ghz["local-noisy"]["hellinger_fidelity"] < ghz["local"]["hellinger_fidelity"]
    assert "local: ghz repeat 2/2" in err and err.startswith("compare: [")  # progress on stderr
    assert "(job 8/8, ETA " in err  # each provider's probe jobs counted, with the time left


def test_a_failing_or_unusable_provider_is_a_row_and_the_others_go_on(tmp_path, capsys):
    small = profile(tmp_path, "tiny", max_qubits=2)
    unknown_kind = profile(tmp_path, "nowhere", kind="teleporter")
    out = tmp_path / "out"
    code, _, _ = run_cli(capsys, "compare", "--providers", f"{small},local,{unknown_kind}",
                         *SMALL, "--out", str(out))
    assert code == 0
    rows = {r["name"]: r for r in json.loads((out / "report.json").read_text())["providers"]}
    assert rows["tiny"]["status"] == "failed" and "3 qubits requested" in rows["tiny"]["reason"]
    assert rows["nowhere"]["status"] == "unavailable" and "teleporter" in rows["nowhere"]["reason"]
    assert rows["local"]["status"] == "measured" and rows["local"]["probes"]
    assert "3 qubits requested" in (out / "report.md").read_text()


def test_dry_run_submits_nothing_and_predicts_from_calibration(tmp_path, capsys, monkeypatch):
    from qhil.adapters.local import LocalProvider

    def refuse(*args, **kwargs):
        raise AssertionError("a dry run must not submit")
    monkeypatch.setattr(LocalProvider, "_submit", refuse)
    out = tmp_path / "out"
    code, _, _ = run_cli(capsys, "compare", "--providers", "local,local-noisy", "--dry-run",
                         *SMALL, "--out", str(out))
    assert code == 0
    rows = {r["name"]: r for r in json.loads((out / "report.json").read_text())["providers"]}
    assert rows["local"]["status"] == rows["local-noisy"]["status"] == "predicted"
    assert rows["local"]["hellinger_fidelity_mean"] == pytest.approx(1.0)
    assert rows["local-noisy"]["hellinger_fidelity_mean"] < 0.999
    assert rows["local-noisy"]["latency"]["execution_s_p50"] > 0  # from calibration durations


def test_dry_run_prediction_matches_measurement_on_the_noisy_simulator(tmp_path, capsys):
    args = ["--providers", "local-noisy", "--qubits", "4", "--layers", "3", "--batch", "2",
            "--shots", "20000", "--repeats", "1"]
    figures = {}
    for mode in ("measured", "predicted"):
        out = tmp_path / mode
        extra = ["--dry-run"] if mode == "predicted" else []
        assert run_cli(capsys, "compare", *args, *extra, "--out", str(out))[0] == 0
        row = json.loads((out / "report.json").read_text())["providers"][0]
        figures[mode] = {p["probe"]: p["hellinger_fidelity"] for p in row["probes"]}
    assert figures["measured"]["ghz"] == pytest.approx(figures["predicted"]["ghz"], abs=0.01)


def test_runs_add_return_per_dollar_and_per_hour(tmp_path, capsys):
    run_dir = tmp_path / "run1"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text(json.dumps(
        {"eval_return_mean": 300.0, "provider": "local", "hw": {"cost_usd": 2.0},
         "wall_s": 1800.0}))
    out = tmp_path / "out"
    code, _, _ = run_cli(capsys, "compare", "--providers", "local", "--dry-run", *SMALL,
                         "--runs", str(run_dir), "--out", str(out))
    assert code == 0
    run = json.loads((out / "report.json").read_text())["runs"][0]
    assert run["return_per_usd"] == 150.0 and run["return_per_hour"] == 600.0
    assert "Training runs" in (out / "report.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--providers", "local,nosuch"], "unknown provider 'nosuch'"),
    (["--providers", "local,local"], "lists a provider twice"),
    (["--providers", "local", "--shots", "0"], "must be a positive integer"),
    (["--providers", "local", "--repeats", "x"], "must be a positive integer"),
    (["--providers", "local", "--runs", "/no/such/run"], "summary.json: no such file"),
    (["--providers", "local", "--config", "/no/such.toml"], "no such file"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "compare", *argv, "--out", str(out))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


TRAIN_CONFIG = """env = "Pendulum-v1"
provider = "local"
steps = 2000
num_envs = 1
[quantum]
qubits = 3
layers = 2
entangler = "data"
shots = 100
[td3]
batch_size = 64
learning_starts = 500
updates_per_step = 1
policy_delay = 2
[eval]
episodes = 2
every_steps = 1000
"""


def priced(tmp_path: Path) -> str:
    return profile(tmp_path, "priced", calibration="calibration/chaos-priced.toml")


def test_config_sets_probe_size_and_predicts_the_run_per_method(tmp_path, capsys):
    config = tmp_path / "train.toml"
    config.write_text(TRAIN_CONFIG)
    out = tmp_path / "out"
    code, _, _ = run_cli(capsys, "compare", "--providers", f"local,{priced(tmp_path)}",
                         "--config", str(config), "--batch", "2", "--repeats", "1",
                         "--yes", "--out", str(out))
    assert code == 0
    data = json.loads((out / "report.json").read_text())
    assert data["settings"]["qubits"] == 3 and data["settings"]["shots"] == 100
    for row in data["providers"]:
        costs = {c["method"]: c for c in row["run_costs"]}
        assert set(costs) == {"qtdnn", "parameter-shift"}
        assert costs["parameter-shift"]["shots"] > costs["qtdnn"]["shots"] > 0
        assert row["run_cost_note"].startswith("measured")
    priced_row = next(r for r in data["providers"] if r["name"] == "priced")
    costs = {c["method"]: float(c["cost_usd"]) for c in priced_row["run_costs"]}
    assert costs["parameter-shift"] > costs["qtdnn"] > 0
    # 2 circuits x 100 shots per job: ($0.30 + 200 x $0.00145) / 200 shots x 1000
    assert float(priced_row["cost_per_1k_shots_usd"]) == pytest.approx(2.95)
    assert float(priced_row["probe_cost_usd"]) == pytest.approx(4 * (0.30 + 200 * 0.00145))


def test_budget_covers_the_whole_comparison_and_refuses_before_sending(tmp_path, capsys,
                                                                       monkeypatch):
    from qhil.adapters.local import LocalProvider

    sent = []
    original = LocalProvider._submit
    monkeypatch.setattr(LocalProvider, "_submit", lambda self, r: sent.append(r) or original(self, r))
    base = ["compare", "--providers", f"local,{priced(tmp_path)}", *SMALL, "--yes"]
    # one repeat of the priced probes costs 4 x ($0.30 + 3 x 400 x $0.00145) = $8.16; two: $16.32
    code, _, err = run_cli(capsys, *base, "--budget-usd", "10", "--out", str(tmp_path / "a"))
    assert code == 2 and "budget exceeded (dollars)" in err and not sent
    assert not (tmp_path / "a").exists()
    code, _, err = run_cli(capsys, *base, "--budget-shots", "10000", "--out", str(tmp_path / "b"))
    assert code == 2 and "budget exceeded (shots)" in err and not sent  # 2 x 2 x 4 x 1200 shots
    code, _, _ = run_cli(capsys, *base, "--budget-usd", "17", "--budget-jobs", "16",
                         "--out", str(tmp_path / "c"))
    assert code == 0 and len(sent) == 16


def test_a_provider_failing_mid_run_is_a_row_and_the_faulty_one_is_retried(tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\nkind = "chaos"\n[limits]\nmax_qubits = 8\n'
                      "[retry]\nmax_attempts = 2\ninitial_backoff_s = 0.001\n"
                      "max_backoff_s = 0.001\njitter_s = 0.0\n"
                      '[options]\ninner = "local"\nseed = 1\nsubmit_failure_rate = 1.0\n')
    out = tmp_path / "out"
    code, _, _ = run_cli(capsys, "compare", "--providers", f"{broken},chaos-faults,local",
                         *SMALL, "--yes", "--out", str(out))
    assert code == 0
    rows = {r["name"]: r for r in json.loads((out / "report.json").read_text())["providers"]}
    assert rows["broken"]["status"] == "failed" and rows["broken"]["reason"]
    # throttled submits, timeouts and lost results are retried: every probe job still lands once
    faulty = rows["chaos-faults"]
    assert faulty["status"] == "measured" and len(faulty["latency"]["round_trip_s"]) == 8
    assert float(faulty["probe_cost_usd"]) == pytest.approx(8 * (0.30 + 3 * 400 * 0.00145))
    assert rows["local"]["status"] == "measured"
