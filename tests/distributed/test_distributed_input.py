"""Bad input to a distributed run: exit 2, one line, nothing started or written."""

from __future__ import annotations

import pytest

from tests.distributed.conftest import run_cli


def test_zero_explorers_is_refused(tiny_config, tmp_path, capsys):
    run = tmp_path / "run"
    code = run_cli(["train", "--config", str(tiny_config()), "--explorers", "0", "--out", str(run)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--explorers" in err
    assert not run.exists()


@pytest.mark.parametrize("providers", [["local", "local", "local"], ["local", "local", "local", "local"]])
def test_more_providers_than_explorers_is_refused(tiny_config, tmp_path, capsys, providers):
    run = tmp_path / "run"
    code = run_cli(["train", "--config", str(tiny_config(providers=providers)), "--out", str(run)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "providers for 2 explorers" in err
    assert not run.exists()


def test_without_ray_the_extra_is_named(tiny_config, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    run = tmp_path / "run"
    code = run_cli(["train", "--config", str(tiny_config()), "--out", str(run), "--yes"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "qhil[ray]" in err
    assert not run.exists()


def test_the_sync_loop_is_refused(tiny_config, tmp_path, capsys):
    run = tmp_path / "run"
    code = run_cli(["train", "--config", str(tiny_config()), "--deterministic", "--out", str(run)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "async" in err
    assert not run.exists()
