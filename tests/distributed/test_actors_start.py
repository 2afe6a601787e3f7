"""`qhil calibrate --config C --explorers N` times the start-up of a distributed run's actors on a
local Ray (nothing sent for it), and `qhil estimate --calibration` adds it to the wall time."""

from __future__ import annotations

import json

from qhil.calibration import load_calibration

from .conftest import run_cli


def test_calibrate_times_the_actors_and_estimate_adds_them(tiny_config, tmp_path, capsys):
    config, out = tiny_config(), tmp_path / "measured.toml"
    assert run_cli(["calibrate", "--provider", "local", "--config", str(config), "--explorers",
                    "2", "--repeats", "1", "--out", str(out), "--json"]) == 0
    timing = load_calibration(out).timing
    assert timing.actors_start_s > 0 and timing.actors_start_explorers == 2
    capsys.readouterr()
    assert run_cli(["estimate", "--config", str(config), "--calibration", str(out),
                    "--method", "qtdnn", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["qtdnn"]["wall_s"] > timing.actors_start_s
