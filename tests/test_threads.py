"""Threads that fit the machine: the cores a process may use, and a thread's own torch count."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from qhil.threads import ThreadPlan, cgroup_cpus, usable_cpus, use_threads


@pytest.fixture
def no_scheduler(monkeypatch):
    for name in ("QHIL_CPUS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)


def test_cgroup_quota_rounds_up_and_max_means_none(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpus(tmp_path) == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpus(tmp_path) is None


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpus(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpus(tmp_path) is None


def test_quota_caps_the_cores(tmp_path, no_scheduler):
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert usable_cpus(root=tmp_path) == 1
    assert usable_cpus(root=tmp_path / "none") == len(os.sched_getaffinity(0))


def test_scheduler_count_config_first_then_environment(tmp_path, monkeypatch, no_scheduler):
    monkeypatch.setattr("qhil.threads.affinity_cpus", lambda: 16)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert usable_cpus(root=tmp_path) == 4  # Ray sets OMP_NUM_THREADS to a trial's CPUs
    monkeypatch.setenv("QHIL_CPUS", "3")
    assert usable_cpus(root=tmp_path) == 3
    assert usable_cpus(explicit=2, root=tmp_path) == 2
    assert usable_cpus(explicit=64, root=tmp_path) == 16  # affinity caps any count given


def test_plan_leaves_the_side_threads_their_cores():
    assert ThreadPlan.of(8, side=1).learner == 7
    assert ThreadPlan.of(8, side=2).learner == 6
    assert ThreadPlan.of(2, side=1).learner == 1
    assert ThreadPlan.of(1, side=1).learner == 1  # never zero
    assert ThreadPlan.of(8, side=1, learner=3).learner == 3  # an explicit count is kept


def test_a_run_that_refits_takes_a_side_thread_from_two_cores_on():
    assert ThreadPlan.of(8, side=2, refit=True) == ThreadPlan(8, 5, refit=1)
    assert ThreadPlan.of(2, side=1, refit=True) == ThreadPlan(2, 1, refit=1)
    assert ThreadPlan.of(1, side=1, refit=True) == ThreadPlan(1, 1, refit=0)  # inline on one core
    assert ThreadPlan.of(8, side=1).refit == 0


def test_a_threads_count_survives_another_thread_setting_its_own():
    """torch copies the process-wide count into a thread when it first asks: set after that."""
    import torch

    seen, ready, go = {}, threading.Event(), threading.Event()

    def worker():
        use_threads(1)
        ready.set()
        go.wait()
        seen["worker"] = torch.get_num_threads()

    before = torch.get_num_threads()
    thread = threading.Thread(target=worker)
    thread.start()
    ready.wait()
    torch.set_num_threads(2)
    go.set()
    thread.join()
    torch.set_num_threads(before)
    assert seen["worker"] == 1


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_import_qhil_makes_idle_openmp_threads_sleep(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    code = "import os, qhil, torch; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == expected
