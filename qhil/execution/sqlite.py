"""One SQLite connection shared by threads behind a lock: the plumbing of the Ledger and of a
run's transition Journal (WAL, autocommit, a 30 s busy timeout); and `read_only(path)`, the
connection of checks that must leave a run folder byte for byte as they found it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WAL_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000")


class LockedSqlite:
    """Base of the SQLite stores: `_connect` once, then `_write`, `_one`, `_all` and `close`."""

    def _connect(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   timeout=30.0)

    def _use_wal(self) -> None:
        for pragma in WAL_PRAGMAS:
            self._db.execute(f"PRAGMA {pragma}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple) -> None:
        with self._lock:
            self._db.execute(sql, args)

    def _one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()


@contextmanager
def read_only(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to `path`. Reading a WAL database creates `-wal` and `-shm` files
    beside it; those this connection created are removed on close while the WAL is still empty
    (no writer came meanwhile), so a refused command leaves no file behind."""
    beside = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    created = [p for p in beside if not p.exists()]
    db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30)
    try:
        yield db
    finally:
        db.close()
        wal = beside[0]
        if created and (not wal.exists() or wal.stat().st_size == 0):
            for extra in created:
                extra.unlink(missing_ok=True)


def key(text: str) -> bytes | str:
    """A token or request hash as stored: raw bytes when it is hex (uuid4 hex, SHA-256)."""
    if len(text) in (32, 64):
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    return text


def unkey(value: bytes | str) -> str:
    return value.hex() if isinstance(value, bytes) else value
