"""`qhil estimate` and `qhil calibrate` in-process: the paper's figure, configs, one-line errors."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from qhil.calibration import load_calibration
from qhil.cli import main
from qhil.cost import Workload

PAPER_FLAGS = ("estimate", "--qubits", "10", "--layers", "10", "--batch", "256", "--shots", "5000",
               "--updates", "1", "--gate-ns", "20", "--readout-ns", "100")

TRAIN_CONFIG = """
env = "Humanoid-v4"
provider = "local"
block = "pqc"
steps = 1000
num_envs = 4
seed = 1

[quantum]
qubits = 10
layers = 10
entangler = "data"
shots = 100

[td3]
batch_size = 128
learning_starts = 200
updates_per_step = 1
policy_delay = 2
actor_lr = 3e-4

[eval]
episodes = 2
every_steps = 500
"""


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_paper_example_on_the_command_line(capsys):
    code, out, _ = run_cli(capsys, *PAPER_FLAGS, "--method", "parameter-shift", "--json")
    data = json.loads(out)
    assert code == 0 and data["parameter_shift"]["qpu_s"] == 281.6
    assert data["parameter_shift"]["circuits"] == 112640 and "spsa" not in data


def test_all_methods_table_and_json(capsys):
    code, out, _ = run_cli(capsys, *PAPER_FLAGS, "--env-steps", "10")
    assert code == 0 and "parameter-shift" in out and "281.6 s" in out
    data = json.loads(run_cli(capsys, *PAPER_FLAGS, "--env-steps", "10", "--json")[1])
    for method in ("qtdnn", "parameter_shift", "spsa"):
        assert {"circuits", "shots", "jobs", "qpu_s", "wall_s", "cost_usd"} <= set(data[method])
    assert data["savings"]["parameter_shift"]["wall_ratio"] > 1000


def test_config_file_gives_the_workload_and_flags_override(tmp_path, capsys):
    path = tmp_path / "train.toml"
    path.write_text(TRAIN_CONFIG)
    w = Workload.from_train_config(path)
    assert (w.env_steps, w.num_envs, w.updates, w.policy_delay) == (250, 4, 200, 2)
    assert (w.batch_size, w.eval_episodes, w.eval_steps_per_episode) == (128, 4, 1000)
    # the periodic evaluation at 500 and the final one at 1000 (one due at 1000 is the final
    # one, not bought twice), 2 episodes side by side
    assert (w.eval_batch, w.eval_jobs) == (2, 2000)
    data = json.loads(run_cli(capsys, "estimate", "--config", str(path), "--shots", "7", "--json")[1])
    assert data["workload"]["shots"] == 7 and data["device"]["name"] == "local"
    assert data["qtdnn"]["circuits"] == 250 * 4 + 4 * 1000
    assert data["qtdnn"]["jobs"] == 250 + 2000
    # as `qhil train --gradient spsa` runs it: per actor update 2 perturbed + 1 centre circuit
    # per sample, per update 128 target-actor circuits
    assert data["spsa"]["circuits"] == data["qtdnn"]["circuits"] + 100 * 128 * 3 + 200 * 128


def test_estimate_reads_the_config_as_train_does(tmp_path, capsys):
    """Same defaults (no [quantum]: TrainConfig's 4 x 2, not a copy) and same validation."""
    bare = tmp_path / "bare.toml"
    bare.write_text('env = "Pendulum-v1"\nsteps = 2000\n')
    w = Workload.from_train_config(bare)
    assert (w.n_qubits, w.n_layers, w.shots) == (4, 2, 100)
    typo = tmp_path / "typo.toml"
    typo.write_text('env = "Pendulum-v1"\n[td3]\nlr = 3e-4\n')
    code, _, err = run_cli(capsys, "estimate", "--config", str(typo))
    assert code == 2 and "td3.lr" in err


def test_classical_block_needs_no_circuits(tmp_path):
    path = tmp_path / "fc.toml"
    path.write_text(TRAIN_CONFIG.replace('block = "pqc"', 'block = "fc"'))
    from qhil.cost import DeviceModel, estimate

    result = estimate(Workload.from_train_config(path), DeviceModel(per_shot_s=1e-3))
    assert all(m.circuits == 0 and m.wall_s == 0 for m in result.methods.values())


def test_flags_override_the_provider_calibration(capsys):
    data = json.loads(run_cli(capsys, "estimate", "--provider", "local-noisy", "--qubits", "10",
                              "--layers", "10", "--updates", "1", "--gate-2q-ns", "0",
                              "--shots", "5000", "--method", "parameter-shift", "--json")[1])
    assert data["parameter_shift"]["qpu_s"] == pytest.approx(281.6)  # 20 ns, 100 ns from the file


@pytest.mark.parametrize("argv,fragment", [
    (["estimate", "--qubits", "10", "--layers", "10", "--shots", "0"], "--shots"),
    (["estimate", "--qubits", "10", "--layers", "10", "--method", "adjoint"], "--method"),
    (["estimate", "--qubits", "10", "--layers", "10", "--gate-ns", "-1"], "--gate-ns"),
    (["estimate", "--qubits", "10", "--layers", "10", "--gate-ns", "nan"], "--gate-ns"),
    (["estimate", "--qubits", "10"], "--layers"),
    (["estimate", "--qubits", "10", "--layers", "2", "--provider", "nowhere"], "unknown provider"),
    (["estimate", "--config", "/nonexistent/train.toml"], "no such file"),
    (["calibrate", "--provider", "local", "--circuits", "0,4"], "--circuits"),
    (["calibrate", "--provider", "local", "--shots", "ten"], "--shots"),
    (["calibrate"], "--provider"),
    (["estimate", "--config", "a.toml", "--from-run", "runs/x"], "not allowed"),
])
def test_bad_flags_exit_2_with_one_line(capsys, argv, fragment):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and fragment in err and err.count("\n") == 1


def test_queue_flag_sets_the_typical_wait(capsys):
    data = json.loads(run_cli(capsys, "estimate", "--qubits", "2", "--layers", "1", "--env-steps",
                              "10", "--queue-s", "3", "--json")[1])
    assert data["qtdnn"]["wall_s"] == pytest.approx(30.0)


def test_bad_config_value_names_the_file_and_field(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(TRAIN_CONFIG.replace("shots = 100", "shots = 1.5"))
    code, _, err = run_cli(capsys, "estimate", "--config", str(path))
    assert code == 2 and "bad.toml" in err and "quantum.shots" in err


def test_calibrate_local_writes_a_snapshot_estimate_reads(tmp_path, capsys):
    out = tmp_path / "local-measured.toml"
    code, text, _ = run_cli(capsys, "calibrate", "--provider", "local-noisy", "--qubits", "3",
                            "--layers", "2", "--circuits", "1,16", "--shots", "10,200",
                            "--repeats", "2", "--out", str(out), "--json")
    fit = json.loads(text)
    cal = load_calibration(out)
    assert code == 0 and fit["jobs"] == 9 and cal.timing.per_shot_s == fit["per_shot_s"]
    assert cal.errors.gate_2q == 0.005 and cal.pricing.per_shot_usd == Decimal(0)  # kept from base
    assert "qhil calibrate" in cal.source
    data = json.loads(run_cli(capsys, "estimate", "--provider", "local-noisy", "--calibration",
                              str(out), "--qubits", "3", "--layers", "2", "--env-steps", "5",
                              "--json")[1])
    assert data["device"]["per_shot_s"] == fit["per_shot_s"] and data["qtdnn"]["wall_s"] > 0


def test_calibrate_on_a_paid_faulty_provider_needs_and_keeps_a_dollar_budget(tmp_path, capsys):
    argv = ("calibrate", "--provider", "chaos-faults", "--qubits", "2", "--layers", "1",
            "--circuits", "1,2", "--shots", "10", "--repeats", "2", "--out", str(tmp_path / "c.toml"))
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "--budget-usd" in err and not (tmp_path / "c.toml").exists()
    code, _, err = run_cli(capsys, *argv, "--budget-usd", "2")  # no terminal, no --yes
    assert code == 2 and "--yes" in err and not (tmp_path / "c.toml").exists()
    code, out, _ = run_cli(capsys, *argv, "--budget-usd", "2", "--yes", "--json")  # 5 jobs: $1.50 + shots
    assert code == 0 and json.loads(out)["jobs"] == 5
    assert load_calibration(tmp_path / "c.toml").pricing.per_task_usd == Decimal("0.30")


def test_calibrate_refuses_probes_over_the_shot_budget(capsys):
    code, _, err = run_cli(capsys, "calibrate", "--provider", "local", "--budget-shots", "100")
    assert code == 2 and "--budget-shots" in err
