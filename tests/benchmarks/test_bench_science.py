"""bench_science and its modules (_science_runs, science_*): the configs it derives, the margins and
the tables it reports (no training but one short noisy run). OUT and ROOT are patched on
_science_runs, which every experiment module reads them from."""

from pathlib import Path

import tomllib

from tests.benchmarks.scripts import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


def test_derived_config_changes_only_the_named_keys(tmp_path, monkeypatch):
    shared = load_benchmark("_science_runs")
    monkeypatch.setattr(shared, "OUT", tmp_path)
    path = shared.derived_config("configs/humanoid-paper.toml", "h", **{"td3.learning_starts": 1000, "steps": 4000})
    derived, paper = (tomllib.loads(p.read_text()) for p in (path, ROOT / "configs/humanoid-paper.toml"))
    assert path == tmp_path / "h.toml" and derived["steps"] == 4000 and derived["td3"]["learning_starts"] == 1000
    assert derived["quantum"]["qubits"] == 10 and derived["qtdnn"]["prior"] == paper["qtdnn"]["prior"] == "none"
    assert derived["qtdnn"]["hidden"] == [2048] and derived["network"]["clinks"] == 10


def test_margins_are_per_seed_and_missing_where_a_run_did_not_finish():
    idp = load_benchmark("science_idp")
    rows = [{"block": "pqc", "seed": 0, "eval_return_mean": 300.0}, {"block": "zeros", "seed": 0, "eval_return_mean": 60.0},
            {"block": "fc", "seed": 0, "eval_return_mean": 500.0}, {"block": "pqc", "seed": 1, "eval_return_mean": 200.0},
            {"block": "zeros", "seed": 1, "eval_return_mean": None}]
    assert idp.margins(rows) == [{"seed": 0, "pqc_minus_zeros": 240.0, "pqc_minus_fc": -200.0},
                                   {"seed": 1, "pqc_minus_zeros": None, "pqc_minus_fc": None}]


def test_fidelity_stats_take_the_second_half():
    shared = load_benchmark("_science_runs")
    s = shared.stats([0.0, 0.1, 0.9, 0.8])
    assert abs(s["second_half_median"] - 0.85) < 1e-12 and s["min"] == 0.0 and s["max"] == 0.9
    assert shared.stats([])["all_median"] is None


def test_a_run_with_no_checkpoint_reports_zero_steps_and_no_load(tmp_path):
    shared = load_benchmark("_science_runs")
    state = shared.run_state(tmp_path / "never-ran")
    assert state["steps"] == 0 and state["finished"] is False and state["fidelity"] == []
    assert shared.wall_and_load(shared.meta_of(tmp_path / "never-ran")) == (None, "not recorded")


def test_an_extended_run_starts_as_an_unfinished_copy_with_the_shorter_runs_segments(tmp_path, monkeypatch):
    idp = load_benchmark("science_idp")
    monkeypatch.setattr(idp.shared, "ROOT", tmp_path)
    src = tmp_path / "idp-3000steps-pqc-s0"
    (src / "checkpoints" / "step-000003000").mkdir(parents=True)
    (src / "summary.json").write_text('{"steps": 3000}')
    seg = {"wall_s": 10.0, "load_start": [1.0, 1.0, 1.0], "load_end": [2.0, 2.0, 2.0]}
    (tmp_path / "idp-3000steps-pqc-s0.meta.json").write_text(f'{{"command": "qhil train A", "segments": [{seg}]}}'.replace("'", '"'))
    idp.extend_copy(src, tmp_path / "idp-6000steps-pqc-s0")
    out = tmp_path / "idp-6000steps-pqc-s0"
    assert (src / "summary.json").exists() and not (out / "summary.json").exists()
    assert idp.shared.last_checkpoint(out).name == "step-000003000"
    meta = idp.shared.meta_of(out)
    assert "qhil train A" in meta["note"] and idp.shared.wall_and_load(meta)[0] == 10.0


def test_targets_judge_the_mean_field_cosine_and_every_seeds_margin():
    bench = load_benchmark("bench_science")
    run = {"seed": 0, "updates": 3000, "grad_cosine": {"second_half_median": 0.9},
           "pqc_path": {"grad_cosine": {"all_median": 0.4}}}
    data = {"humanoid-fidelity": {"runs": [{**run, "surrogate": "mean-field prior"}, {**run, "surrogate": "paper qtDNN"}]},
            "idp-3000steps": {"steps": 3000, "margins": [{"pqc_minus_zeros": 40.0}, {"pqc_minus_zeros": None}]}}
    lines = bench.targets(data)
    assert "not met" in lines[0] and "target" not in lines[1]
    assert lines[2].endswith("every seed: no") and "40.0, -" in lines[2]


def test_pendulum_10x10_configs_have_no_clinks_and_the_rows_their_surrogates(tmp_path, monkeypatch):
    pendulum = load_benchmark("science_pendulum")
    monkeypatch.setattr(pendulum.shared, "OUT", tmp_path)
    ours, paper = (tomllib.loads(pendulum.pendulum_config(src, 10000).read_text())
                   for src in ("configs/pendulum-10x10.toml", "configs/pendulum-10x10-paper.toml"))
    for c in (ours, paper):
        assert c["network"]["clinks"] == 0 and c["quantum"]["qubits"] == c["quantum"]["layers"] == 10
        assert c["steps"] == 10000 and c["eval"]["every_steps"] == 500 and c["quantum"]["gradient"] == "qtdnn"
    assert ours["qtdnn"]["prior"] == "mean-field" and paper["qtdnn"]["prior"] == "none"
    assert pendulum.PENDULUM["exact"][1] == ["--gradient", "exact"] and pendulum.PENDULUM["zeros"][1] == ["--block", "zeros"]
    assert list(pendulum.PENDULUM) == ["mean-field", "exact", "paper qtDNN", "zeros",
                                       "mean-field 400 shots", "exact 400 shots"]
    assert pendulum.PENDULUM["mean-field 400 shots"][1] == ["--shots", "400"]
    assert pendulum.PENDULUM["exact 400 shots"][1] == ["--gradient", "exact", "--shots", "400"]
    # each surrogate row is judged against the exact row of its own shots
    assert pendulum.EXACT_OF["mean-field 400 shots"] == "exact 400 shots"


def test_a_cut_pendulum_run_reports_its_evals_checks_and_pace_up_to_its_checkpoint(tmp_path, monkeypatch):
    pendulum = load_benchmark("science_pendulum")
    monkeypatch.setattr(pendulum.shared, "ROOT", tmp_path)
    out = tmp_path / "p10x10-10000steps-mean-field-s0"
    (out / "checkpoints" / "step-000001500").mkdir(parents=True)
    (out / "checkpoints" / "step-000001500" / "manifest.json").write_text('{"step": 1500}')
    rows = [{"step": 1000, "eval/return_mean": -1200.0}, {"step": 1400, "surrogate/grad_cosine": 0.9,
            "surrogate/grad_rel_error": 0.4, "surrogate/pqc_grad_cosine": 0.8},
            {"step": 1200, "updates": 200, "time/wall_s": 100.0}, {"step": 1400, "updates": 400, "time/wall_s": 200.0},
            {"step": 1600, "eval/return_mean": -900.0}, {"step": 1600, "surrogate/grad_cosine": 0.1}]
    (out / "metrics.jsonl").write_text("\n".join(map(str, rows)).replace("'", '"') + "\n")
    row = pendulum.pendulum_row("mean-field", 0, out)
    assert row["steps"] == 1500 and row["evals"] == [(1000, -1200.0)] and row["checks"] == 1
    assert row["grad_cosine"]["all_median"] == 0.9 and row["loop_s_per_update"] == 0.5
    md = pendulum.pendulum_markdown([row], "c")
    assert row["run_dir"] == "p10x10-10000steps-mean-field-s0" and pendulum.steps_target(row) == 10000 and "| 1,500 of 10,000 (cut) |" in md
    assert "mean-field seed 0: 1,500 of 10,000 steps" in md


def test_the_deadline_cuts_the_timeout_and_stops_new_runs():
    shared = load_benchmark("_science_runs")
    assert shared._timeout_before(None, 600) == 600
    assert shared._timeout_before("00:00", 600) == 0  # today's 00:00 has passed
    assert 0 < shared._timeout_before("23:59", 600) <= 600 or time_is_late()


def time_is_late() -> bool:
    import time

    return time.gmtime().tm_hour == 23 and time.gmtime().tm_min >= 49


def test_pendulum_targets_compare_with_exact_only_on_seeds_where_both_finished():
    pendulum = load_benchmark("science_pendulum")
    cos = {"second_half_median": 0.8}
    runs = [{"row": "exact", "seed": 0, "eval_return_mean": -200.0, "checks": 0, "grad_cosine": cos},
            {"row": "mean-field", "seed": 0, "eval_return_mean": -240.0, "checks": 3, "grad_cosine": cos},
            {"row": "mean-field", "seed": 1, "eval_return_mean": -900.0, "checks": 3, "grad_cosine": cos},
            {"row": "paper qtDNN", "seed": 0, "eval_return_mean": None, "checks": 3, "grad_cosine": cos}]
    mean_field, paper = pendulum.pendulum_targets(runs)
    assert "mean eval -240.0 vs exact -200.0 (seeds [0])" in mean_field and "0.800, 0.800" in mean_field
    assert "no seed where it and exact both finished" in paper


def test_the_400_shot_surrogate_is_judged_against_the_400_shot_exact_row():
    pendulum = load_benchmark("science_pendulum")
    cos = {"second_half_median": 0.75}
    runs = [{"row": "exact", "seed": 0, "eval_return_mean": -200.0, "checks": 0, "grad_cosine": cos},
            {"row": "exact 400 shots", "seed": 0, "eval_return_mean": -120.0, "checks": 0, "grad_cosine": cos},
            {"row": "mean-field 400 shots", "seed": 0, "eval_return_mean": -130.0, "checks": 3, "grad_cosine": cos}]
    (line,) = pendulum.pendulum_targets(runs)  # rows not run are left out
    assert "mean-field 400 shots: mean eval -130.0 vs exact 400 shots -120.0 (seeds [0])" in line


def test_noisy_pace_splits_at_the_first_update_and_leaves_out_the_straddling_period():
    noisy = load_benchmark("science_noisy")
    rows = [{"step": 100, "time/wall_s": 1.0}, {"step": 200, "time/wall_s": 2.0},
            {"step": 300, "time/wall_s": 5.0}, {"step": 400, "time/wall_s": 9.0}, {"step": 500, "time/wall_s": 13.0}]
    pace = noisy.loop_pace(rows, 256)
    assert pace["s_per_step_before"] == 0.01 and pace["s_per_step_after"] == 0.04  # 200-300 left out
    assert pace["steps_before"] == 200 and pace["steps_after"] == 200 and pace["loop_s"] == 13.0
    segments = [{"wall_s": 20.0}]
    proj = noisy.project(pace, segments, True, 20000, 1000)
    assert proj["fixed_s"] == 7.0 and abs(proj["wall_s"] - (7.0 + 10.0 + 0.04 * 19000)) < 1e-9
    assert noisy.project(pace, segments, False, 20000, 1000)["fixed_s"] is None
    assert noisy.project(noisy.loop_pace(rows[:2], 256), segments, True, 20000, 1000)["wall_s"] is None


def test_noisy_on_local_noisy_reports_steps_ledger_circuits_and_dollars(tmp_path):
    """Two rows of --experiment noisy trained for a few steps on local-noisy; the report's rows
    come from the run folders (steps), the ledgers (circuits) and qhil estimate (dollars)."""
    import json
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "benchmarks/bench_science.py", "--experiment", "noisy", "--profiles", "local-noisy",
           "--rows", "mean-field", "zeros", "--seeds", "0", "--steps", "280", "--learning-starts", "256",
           "--out", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    data = json.loads((tmp_path / "results" / "science_noisy-280steps.json").read_text())
    rows = {r["row"]: r for r in data["runs"]}
    assert list(rows) == ["mean-field", "paper qtDNN", "parameter-shift", "zeros"]
    mf, zeros = rows["mean-field"], rows["zeros"]
    assert mf["finished"] and mf["steps"] == 280 and mf["fidelity_reference"] == "shadow"
    assert mf["ledger"]["circuits"] >= 280 and mf["ledger"]["device"] == "ibm-torino"
    assert float(mf["ledger"]["cost_usd"]) > 0 and mf["ledger"]["predicted_circuits"] == mf["ledger"]["circuits"]
    assert zeros["finished"] and zeros["steps"] == 280 and mf["pace"]["s_per_step_before"] > 0
    assert rows["parameter-shift"]["steps"] == 0 and rows["parameter-shift"]["ledger"]["circuits"] is None
    md = (tmp_path / "results" / "science_noisy-280steps.md").read_text()
    assert "| local-noisy | mean-field | 0 | 280 of 280 |" in md and "| $ on device |" in md
    assert "| local-noisy | parameter-shift | 0 | 0 of 280 (not started) |" in md


def test_a_noisy_pace_smoke_is_judged_against_no_target():
    noisy = load_benchmark("science_noisy")
    row = {"profile": "local-noisy", "seed": 0, "eval_return_mean": -1200.0, "ledger": {"circuits": 10}}
    runs = [{**row, "row": label} for label in ("mean-field", "parameter-shift")]
    assert noisy.noisy_targets(runs, 300) == [
        "- Noisy, 300 steps: a pace smoke (its returns are those of an untrained policy); no target judged"]
    judged = noisy.noisy_targets(runs, 6000)
    assert judged[0].startswith("- Noisy local-noisy (6,000 steps), mean-field: mean eval -1200.0")
    assert "within 25%: yes" in judged[0] and "at 100% of its circuits" in judged[0]


def test_a_reports_closing_lines_are_its_paragraphs_then_its_command():
    shared = load_benchmark("_science_runs")
    assert shared.closing(["a", "b"], "c") == ["", "a", "", "b", "", "Produced by `c`."]
