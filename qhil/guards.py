"""Resource guards: before allocating, compare what a command needs with what this machine has,
and refuse with the numbers (exit 2) instead of failing in the allocator or the OOM killer.

    check_simulator_memory(n_qubits, batch, precision, what="sample")   state vectors
    check_agents(agents, force=False)                                   qtrl agent processes
    die_with_parent(parent_pid)                                         in each agent process

Nothing here imports torch, so a refusal answers at once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

from qhil.errors import ResourceError

BYTES = {"complex64": 8, "complex128": 16}
# the state, one scratch copy and the probabilities / sampling tables of the same batch
SIMULATOR_COPIES = 3
AGENT_BYTES = 400 * 2**20  # resident memory of one qtrl agent process (torch, env, model)
AGENTS_PER_CORE = 8  # agents beyond this per core only wait for each other
PR_SET_PDEATHSIG = 1


_MEMORY_CACHE: list[float] = [-1.0, 0.0]  # [read at (monotonic s), bytes]: every job validates


def available_memory_bytes(max_age_s: float = 1.0) -> int:
    """Memory this process may still use: MemAvailable, capped by a cgroup limit if any
    (read at most once per `max_age_s`)."""
    now = time.monotonic()
    if now - _MEMORY_CACHE[0] > max_age_s:
        values = [v for v in (_meminfo_available(), _cgroup_room()) if v is not None]
        _MEMORY_CACHE[:] = [now, min(values) if values else 2**62]
    return int(_MEMORY_CACHE[1])


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_room() -> int | None:
    try:
        top = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if top == "max" else max(int(top) - used, 0)


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB"


def simulator_bytes(n_qubits: int, batch: int, precision: str = "complex64") -> int:
    """Memory a batched state-vector simulation of `batch` circuits needs at once."""
    return SIMULATOR_COPIES * batch * (2 ** n_qubits) * BYTES.get(precision, 16)


def check_simulator_memory(n_qubits: int, batch: int, precision: str = "complex64",
                           what: str = "the simulation", have_bytes: int | None = None,
                           where: str = "this machine") -> None:
    """Refuse a state-vector batch larger than the free memory (this machine's, or
    `have_bytes` of `where`, e.g. a GPU)."""
    need = simulator_bytes(n_qubits, batch, precision)
    have = available_memory_bytes() if have_bytes is None else have_bytes
    if need > have:
        raise ResourceError(
            f"{what} needs about {gib(need)} ({batch} circuits x 2^{n_qubits} amplitudes, "
            f"{precision}), but {where} has {gib(have)} free; use fewer qubits or a "
            f"smaller batch")


def max_agents() -> int:
    """Agent processes this machine holds: by free memory and by cores."""
    by_memory = available_memory_bytes() // AGENT_BYTES
    return int(max(1, min(by_memory, AGENTS_PER_CORE * (os.cpu_count() or 1))))


def check_agents(agents: int, force: bool = False) -> None:
    """Refuse more qtrl agents than the machine holds (unless `force`); never beyond memory."""
    limit = max_agents()
    if agents <= limit:
        return
    need, have = agents * AGENT_BYTES, available_memory_bytes()
    if need > have:
        raise ResourceError(
            f"--agents {agents} needs about {gib(need)} ({agents} processes x "
            f"{gib(AGENT_BYTES)}), but this machine has {gib(have)} free; use --agents "
            f"{limit} or fewer, or several machines with torchrun")
    if not force:
        raise ResourceError(
            f"--agents {agents} is more than this machine's {os.cpu_count()} cores run well "
            f"(at most {limit}); use --agents {limit} or fewer, or pass --force")


def die_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Make this (agent) process end when `parent_pid` ends: PR_SET_PDEATHSIG on Linux, and a
    watchdog thread that exits when the parent is gone (other systems, or a missed signal)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid, poll_s), daemon=True,
                     name="qhil-parent-watch").start()


def _watch_parent(parent_pid: int, poll_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    os._exit(1)
