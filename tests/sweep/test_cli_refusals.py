"""`qhil sweep` refuses bad input with one line and exit 2, before Ray starts or a file is
written: unknown keys, backwards seed ranges, unreachable clusters, budgets the estimate
exceeds, a missing Ray."""

from __future__ import annotations

import sys

import pytest

from tests.sweep.conftest import run_cli


def refused(argv: list[str], capsys, out) -> str:
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("qhil: error:")
    assert not out.exists()
    return err


@pytest.mark.parametrize("flags, says", [
    (["--grid", "nosuch.key=1,2"], "unknown config key 'nosuch.key'"),
    (["--seeds", "5-2"], "runs backwards"),
    (["--address", "127.0.0.1:9"], "no Ray cluster answers at 127.0.0.1:9"),
    (["--address", "nohost"], "must be auto or HOST:PORT"),
    (["--grid", "block=pqc,nope"], "block"),
    (["--param", "qtdnn.lr=uniform(0.1,0.2)"], "--search random or optuna"),
])
def test_bad_input_is_one_line_and_nothing_written(flags, says, tiny_config, tmp_path, capsys):
    out = tmp_path / "sweeps" / "s"
    assert says in refused(["sweep", "--config", str(tiny_config()), "--out", str(out), *flags],
                           capsys, out)


def test_a_sweep_over_its_budget_is_refused_before_any_trial(tiny_config, tmp_path, capsys):
    out = tmp_path / "s"
    err = refused(["sweep", "--config", str(tiny_config("chaos-faults")), "--seeds", "0-2",
                   "--grid", "block=pqc,fc", "--budget-usd", "0.01", "--yes", "--out", str(out)],
                  capsys, out)
    assert "budget exceeded (dollars): the sweep (6 trials) on chaos-faults" in err


def test_without_ray_the_command_names_the_extra(tiny_config, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    out = tmp_path / "s"
    assert "pip install 'qhil[ray]'" in refused(
        ["sweep", "--config", str(tiny_config()), "--out", str(out)], capsys, out)


def test_resume_of_a_folder_that_is_no_sweep(tmp_path, capsys):
    assert "not a sweep folder" in refused(["sweep", "--resume", str(tmp_path / "none")],
                                           capsys, tmp_path / "none")


def test_ctrl_c_names_the_line_that_resumes_the_sweep(tmp_path):
    from argparse import Namespace

    from qhil.cli import interrupted_message

    (tmp_path / "sweep.json").write_text("{}")
    args = Namespace(command="sweep", resume=None, out=str(tmp_path))
    assert interrupted_message(args).endswith(f"qhil sweep --resume {tmp_path}")


def test_resume_of_a_sweep_another_process_writes_is_refused(tmp_path, capsys):
    """One writer per sweep folder (issue 26): a second `sweep --resume` is refused at once, in
    one line naming the owner, before it reads sweep.json or starts Ray."""
    import os
    import subprocess
    from pathlib import Path

    (tmp_path / "sweep.json").write_text("{}")
    root = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom qhil.runlock import claim\n"
         "with claim(sys.argv[1], 'qhil sweep'):\n    print('held', flush=True)\n"
         "    time.sleep(120)\n", str(tmp_path)],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == "held"
        assert run_cli(["sweep", "--resume", str(tmp_path)]) == 2
    finally:
        owner.kill()
        owner.wait()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"in use by process {owner.pid} (qhil sweep)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.lock", "sweep.json"]
