"""Paths a command writes or reads, checked before the first job (exit 2 with one line):
an output folder or file must be creatable and writable, not a file, not inside a file, and not
a mistyped mount path (a missing folder directly under `/` or beside mount points, as /mnt/dtaa
beside /mnt/data, is refused rather than created on the wrong disk); a new run folder is not a
symbolic link and not inside another run (never writing into someone else's run);
a ledger must be a qhil ledger.

    check_out_dir(path, "--out")       a folder to create or fill
    check_new_run_dir(path, "--out")   the same, for a run folder
    check_out_file(path, "--out")      a file to create or replace
    check_ledger_path(path, "--ledger")
    open_ledger(path) -> Ledger        a corrupt or foreign file is a ConfigError
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from qhil.errors import ConfigError

if TYPE_CHECKING:
    from qhil.execution.ledger import Ledger


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _check_writable_folder(folder: Path, flag: str, shown: Path) -> None:
    if not folder.is_dir():
        raise ConfigError(f"{flag} {shown}: {folder} is a file, so nothing can be created "
                          f"inside it; choose another path")
    try:
        handle, probe = tempfile.mkstemp(prefix=".qhil-write-check-", dir=folder)
    except OSError as exc:
        raise ConfigError(f"{flag} {shown}: cannot write in {folder} "
                          f"({exc.strerror or exc}); choose a writable path") from exc
    os.close(handle)
    os.unlink(probe)


def check_out_dir(path: str | Path, flag: str = "--out") -> Path:
    """A folder the command will create (or write into): refused if it is a file, lies inside
    a file, or its nearest existing folder is not writable."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path} is a file; pass a folder")
    nearest = _nearest_existing(path)
    _check_writable_folder(nearest, flag, path)
    if nearest != path:
        _refuse_mount_typo(path, nearest, flag)
    return path


def _refuse_mount_typo(path: Path, nearest: Path, flag: str) -> None:
    """A missing folder that would be created at the top of the file system or beside mount
    points is, most likely, a mistyped mount path: creating it would fill the wrong disk."""
    siblings = itertools.islice(nearest.iterdir(), 1000)
    if nearest.resolve() == Path(nearest.anchor or "/") or any(
            os.path.ismount(s) for s in siblings):
        missing = nearest / path.relative_to(nearest).parts[0]
        raise ConfigError(f"{flag} {path}: {missing} does not exist and {nearest} holds mount "
                          f"points; is the path mistyped? Create {missing} first if it is meant")


def check_new_run_dir(path: str | Path, flag: str = "--out") -> Path:
    """A new run folder: as check_out_dir, and neither a symbolic link nor inside another run."""
    path = Path(path).expanduser()
    if path.is_symlink():
        raise ConfigError(f"{flag} {path} is a symbolic link (to {os.readlink(path)}); a run is "
                          f"not written through a link: pass the real folder")
    for parent in Path(os.path.abspath(path)).resolve().parents:
        if _is_run(parent):
            raise ConfigError(f"{flag} {path} lies inside the run folder {parent}; pass a folder "
                              f"outside other runs")
    return check_out_dir(path, flag)


def check_out_file(path: str | Path, flag: str = "--out") -> Path:
    """A file the command will write: not a folder, its folder creatable and writable."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; pass a file name, e.g. {path / 'out.toml'}")
    _check_writable_folder(_nearest_existing(path.parent), flag, path)
    return path


def _is_run(folder: Path) -> bool:
    """A train or qtrl run folder: its config.toml beside a ledger, journal or checkpoints."""
    return (folder / "config.toml").is_file() and any(
        (folder / name).exists() for name in ("ledger.sqlite", "transitions.sqlite", "checkpoints"))


def check_ledger_path(path: str | Path, flag: str = "--ledger") -> Path:
    """A ledger to open or create: an existing one must be a qhil ledger."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; pass a .sqlite file")
    if path.exists():
        check_ledger_file(path, flag)
        return path
    return check_out_file(path, flag)


def check_ledger_file(path: Path, flag: str = "ledger") -> None:
    """Refuse a file that SQLite cannot read as a qhil ledger (read-only: nothing is changed)."""
    from qhil.execution.sqlite import read_only

    try:
        with open(path, "rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            raise sqlite3.DatabaseError("file is not a database")
        with read_only(path) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if head and db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
    except (sqlite3.DatabaseError, OSError) as exc:
        raise ConfigError(f"{flag} {path} is not a readable qhil ledger ({exc}); it was left as "
                          f"it is: restore it from a copy or move it aside") from exc


def open_ledger(path: str | Path, flag: str = "ledger") -> Ledger:
    """The ledger at `path`; a corrupt or foreign file is a ConfigError, not a traceback."""
    from qhil.execution.ledger import Ledger

    path = Path(path)
    if path.exists():
        check_ledger_file(path, flag)
    try:
        return Ledger(path)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{flag} {path} is not a qhil ledger ({exc})") from exc
