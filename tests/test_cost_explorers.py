"""The cost model with N explorers ([distributed] explorers, `qhil estimate --explorers`):
exploration's jobs run N at a time, so its wall time divides by N; jobs and dollars do not."""

from __future__ import annotations

import json

import pytest

from qhil.cost import DeviceModel, Workload, estimate
from tests.test_cost_cli import TRAIN_CONFIG, run_cli

CONFIG = TRAIN_CONFIG.replace("steps = 1000", "steps = 1024")  # 256 vector steps: N divides them
DEVICE = DeviceModel().with_overrides(job_overhead_s=1.0, per_shot_s=1e-4, per_task_usd=0.3)


def config_with(tmp_path, distributed: str) -> str:
    path = tmp_path / "train.toml"
    path.write_text(CONFIG + "\n[distributed]\n" + distributed + "\n")
    return str(path)


@pytest.mark.parametrize("n", [2, 4])
def test_exploration_wall_divides_by_the_explorers(tmp_path, n):
    one = estimate(Workload.from_train_config(config_with(tmp_path, "explorers = 1")), DEVICE)
    many = estimate(Workload.from_train_config(config_with(tmp_path, f"explorers = {n}")), DEVICE)
    assert many.workload.explorers == n
    for method, m1 in one.methods.items():
        mn, p1 = many.methods[method], m1.phases
        assert mn.phases["exploration"].wall_s["typical"] == pytest.approx(
            p1["exploration"].wall_s["typical"] / n)
        rest = p1["evaluation"].wall_s["typical"] + p1["learner"].wall_s["typical"]
        assert mn.wall_s == pytest.approx(p1["exploration"].wall_s["typical"] / n + rest)
        assert (mn.jobs, mn.shots, mn.cost_usd) == (m1.jobs, m1.shots, m1.cost_usd)
    assert one.methods["qtdnn"].phases["exploration"].wall_s["typical"] > 0


def test_cli_explorers_flag_and_json_key(tmp_path, capsys):
    path = config_with(tmp_path, "explorers = 2")
    data = json.loads(run_cli(capsys, "estimate", "--config", path, "--json")[1])
    assert data["explorers"] == 2 and data["workload"]["explorers"] == 2
    code, out, _ = run_cli(capsys, "estimate", "--config", path, "--explorers", "4")
    assert code == 0 and "4 explorer(s)" in out


def test_each_explorer_holds_its_own_session():
    session = DEVICE.with_overrides(model="session", per_minute_usd=6.0, per_task_usd=0.0)
    w = Workload(n_qubits=4, n_layers=2, env_steps=100)
    one, two = (estimate(w.with_overrides(explorers=n), session).methods["qtdnn"] for n in (1, 2))
    assert two.wall_s == pytest.approx(one.wall_s / 2)
    assert float(two.cost_usd) == pytest.approx(float(one.cost_usd))


def test_several_providers_are_refused_in_one_line(tmp_path, capsys):
    path = config_with(tmp_path, 'explorers = 2\nproviders = ["local", "braket-local"]')
    code, out, err = run_cli(capsys, "estimate", "--config", path)
    assert code == 2 and out == "" and "prices one device" in err and len(err.strip().splitlines()) == 1


def test_the_actors_start_up_is_added_once_to_every_band_of_the_wall_time():
    w = Workload(n_qubits=4, n_layers=2, env_steps=100, explorers=2)
    plain = estimate(w, DEVICE).methods["qtdnn"]
    started = estimate(w, DEVICE.with_overrides(actors_start_s=12.5)).methods["qtdnn"]
    assert (started.wall_s_low, started.wall_s, started.wall_s_high) == pytest.approx(
        (plain.wall_s_low + 12.5, plain.wall_s + 12.5, plain.wall_s_high + 12.5))
    assert started.phases == plain.phases and started.cost_usd == plain.cost_usd


def test_estimate_reads_the_start_up_from_a_calibration_and_from_the_flag(tmp_path, capsys):
    path = config_with(tmp_path, "explorers = 2")
    calibration = tmp_path / "measured.toml"
    calibration.write_text('device = "x"\nsource = "test"\ndate = "2026-12-07"\n[timing]\n'
                           'job_overhead_s = 1.0\nactors_start_s = 7.0\nactors_start_explorers = 2\n')
    wall = {}
    for name, flags in (("none", ()), ("calibrated", ("--calibration", str(calibration))),
                        ("flag", ("--job-overhead-s", "1.0", "--actors-start-s", "7.0"))):
        out = run_cli(capsys, "estimate", "--config", path, "--method", "qtdnn", "--json", *flags)[1]
        wall[name] = json.loads(out)["qtdnn"]["wall_s"]
    assert wall["calibrated"] == pytest.approx(wall["flag"]) and wall["flag"] > 7.0
    assert wall["none"] == 0.0  # the local provider has no timing: nothing is made up


def test_calibrating_the_actors_start_up_needs_the_runs_config(tmp_path, capsys):
    code, out, err = run_cli(capsys, "calibrate", "--provider", "local", "--explorers", "2",
                             "--out", str(tmp_path / "x.toml"))
    assert code == 2 and "--explorers needs --config" in err and not (tmp_path / "x.toml").exists()
