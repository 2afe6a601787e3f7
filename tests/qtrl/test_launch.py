"""Locally spawned agents meet through a file in a fresh folder, never a TCP port picked early."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from qhil.qtrl import launch


class Finished:
    processes: list = []

    def join(self, timeout: float) -> bool:
        return True


def test_spawned_agents_rendezvous_through_a_file_that_is_removed_after(tmp_path, monkeypatch):
    seen = {}

    def start_processes(main, args, nprocs, join, start_method):
        seen["address"], seen["nprocs"] = args[2], nprocs
        return Finished()

    monkeypatch.setattr(launch.mp, "start_processes", start_processes)
    config = launch.QTRLConfig(env="CartPole-v1", agents=3, episodes=1)
    launch._spawn(config, launch.QTRLRunFolder(tmp_path), None)
    store = Path(urlparse(seen["address"]).path)
    assert seen["address"].startswith("file://") and seen["nprocs"] == 3
    assert not store.parent.exists()  # the meeting folder is gone with the agents
