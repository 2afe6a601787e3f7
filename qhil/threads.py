"""Threads that fit the machine: the cores this process may use, and how a training run shares them.

    usable_cpus(explicit)      min(affinity, cgroup CPU quota, the scheduler's count)
    plan = ThreadPlan.of(cpus, side=1)        learner = cpus - side threads (at least 1)
    side_executor()            one more thread (one torch thread): the qtDNN refit beside the critic
    use_threads(n)             this thread's torch (OpenMP, MKL) thread count
    quiet_waits()              OMP_WAIT_POLICY=PASSIVE unless set: idle OpenMP threads sleep

The scheduler's count is `[loop] cpus`, else $QHIL_CPUS, else $OMP_NUM_THREADS (Ray sets it to a
trial's CPUs). A run's learner takes what the explorer thread (which also waits on its local
simulator jobs) and a periodic-evaluation thread leave, so together they never exceed the count;
with one core the async loop's two threads still share it. A run that refits a qtDNN and has two
cores or more refits it on one more thread while the learner's critic step runs (`refit`, one of
the side threads): on 2 cores the explorer thread mostly waits for the learner, so the two
learner threads and the explorer fit (issue 27: pqc's learner 17.2 -> 13.3 ms an update on
`configs/pendulum.toml`).

Why the wait policy: torch's OpenMP (libgomp) spins a waiting thread for about 300,000 turns by
default; beside other busy processes the spinning thread holds a core its sibling needs, and a run
that used every core fell from 29 to 0.8 steps/s (issue 27). libgomp reads the policy once, when
torch is imported, so `import qhil` sets it first (child processes inherit it); a process that
imported torch before qhil keeps torch's default.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
SCHEDULER_VARS = ("QHIL_CPUS", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class ThreadPlan:
    """Torch threads of each part of a run: the learner's, and one per side thread."""

    cpus: int
    learner: int
    explorer: int = 1
    evaluation: int = 1
    refit: int = 0  # the qtDNN refit's own thread beside the critic step (0: inline)

    @classmethod
    def of(cls, cpus: int, side: int, learner: int = 0, refit: bool = False) -> ThreadPlan:
        """`side` threads (explorer, periodic evaluation) run beside the learner, and with
        `refit` (a run that refits a qtDNN) on two cores or more one more; an explicit
        `learner` count is kept as given."""
        overlap = int(refit and cpus >= 2)
        return cls(cpus, learner or max(1, cpus - side - overlap), refit=overlap)


def usable_cpus(explicit: int = 0, root: Path = CGROUP) -> int:
    """Cores this process may use: affinity, the cgroup's quota and the scheduler's count."""
    limits = [affinity_cpus(), cgroup_cpus(root), explicit or scheduler_cpus()]
    return max(1, min(n for n in limits if n))


def affinity_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cgroup_cpus(root: Path = CGROUP) -> int | None:
    """The CPU quota (cgroup v2 cpu.max, or v1 cfs quota / period) rounded up; None: no quota."""
    v2 = root / "cpu.max"
    if v2.is_file():
        quota, _, period = v2.read_text().partition(" ")
        return quota_cpus(quota, period)
    v1 = root / "cpu" / "cpu.cfs_quota_us"
    if v1.is_file():
        return quota_cpus(v1.read_text(), (v1.parent / "cpu.cfs_period_us").read_text())
    return None


def quota_cpus(quota: str, period: str) -> int | None:
    quota, period = quota.strip(), period.strip()
    if quota in ("max", "-1") or not period:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def scheduler_cpus() -> int | None:
    """A count a scheduler or the user gave: $QHIL_CPUS, else $OMP_NUM_THREADS (None: neither)."""
    for name in SCHEDULER_VARS:
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def use_threads(n: int) -> None:
    """Set this thread's torch threads. torch reads the process-wide count into a thread the first
    time the thread asks for it, so ask first: a later read cannot undo this setting."""
    import torch

    torch.get_num_threads()
    torch.set_num_threads(n)


@functools.cache
def side_executor() -> ThreadPoolExecutor:
    """The process's one side thread (one torch thread), for work that overlaps the learner's."""
    return ThreadPoolExecutor(1, "qhil-refit", initializer=use_threads, initargs=(1,))


def quiet_waits() -> None:
    """Idle OpenMP threads sleep instead of spinning (unless the user chose a policy)."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

