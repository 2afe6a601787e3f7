"""One writer per run folder: `with claim(DIR, "qhil train --resume"):` holds an fcntl lock on
DIR/run.lock, a file that names the owner's pid, for as long as the command writes there.

    claim(path, command)   a context manager; path None claims nothing

A second process that claims the same folder is refused at once (RunFolderBusyError, one line
with the owner's pid): two writers of one journal and one ledger could buy a job neither accounts
for. The kernel drops the lock of a process that dies, so the run.lock a killed run leaves (its
pid dead) is simply taken over. Claims nest within one process (a command and the library it
calls both claim). A folder that is missing or cannot be written is refused before anything is
read or bought. The lock file is removed on release, so a refused or finished command leaves the
folder as it found it; a claimer that opened a file just removed sees that and tries again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qhil.errors import ConfigError, RunFolderBusyError

LOCK = "run.lock"
_held: dict[Path, int] = {}  # folder (resolved) -> claims this process holds on it
_fds: dict[Path, int] = {}
_guard = threading.Lock()


@contextmanager
def claim(path: str | Path | None, command: str) -> Iterator[None]:
    """Own the run folder `path` while the block runs (see the module docstring)."""
    if path is None:
        yield
        return
    folder = Path(path).resolve()
    with _guard:
        if folder not in _held:
            _fds[folder] = _acquire(folder, command)
        _held[folder] = _held.get(folder, 0) + 1
    try:
        yield
    finally:
        with _guard:
            _held[folder] -= 1
            if not _held[folder]:
                del _held[folder]
                _release(folder, _fds.pop(folder))


def _acquire(folder: Path, command: str) -> int:
    """The locked descriptor of folder/run.lock, the owner line written into it."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a run folder (no such folder, so no config.toml); "
                          f"check the path")
    while True:
        fd = _open(folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(fd)
            os.close(fd)
            raise RunFolderBusyError(
                f"{folder} is in use by {owner}; wait for it to finish (or stop it), then run "
                f"this again; nothing was written or sent") from None
        if _is_current(fd, folder / LOCK):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"process {os.getpid()} ({command})\n".encode(), 0)
            return fd
        os.close(fd)  # the owner removed the file as we opened it: claim the new one


def _owner(fd: int, wait_s: float = 0.8) -> str:
    """The owner line of a locked run.lock; an owner that has just taken the lock writes it a
    moment later, so an empty file is read again for up to `wait_s` (a second claim is refused
    within 1 s, as issue 26 asks, even when the owner never writes its line)."""
    deadline = time.monotonic() + wait_s
    while True:
        owner = os.pread(fd, 200, 0).decode(errors="replace").strip()
        if owner or time.monotonic() > deadline:
            return owner or "another process"
        time.sleep(0.02)


def _open(folder: Path) -> int:
    try:
        return os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ConfigError(f"{folder} is read-only ({exc.strerror}); qhil writes its "
                              f"ledger, journal and checkpoints there: make it writable, or copy "
                              f"it (cp -r {folder} NEW_DIR) and use the copy") from None
        raise


def _is_current(fd: int, path: Path) -> bool:
    """Whether the descriptor is still the file at `path` (not one a releaser just removed)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _release(folder: Path, fd: int) -> None:
    try:
        os.unlink(folder / LOCK)  # still locked: a claimer that opened it will see it is gone
    except OSError:
        pass
    os.close(fd)
