"""One SQLite connection shared by threads behind a lock: the plumbing of the Ledger and of a
run's transition Journal (WAL, autocommit, a 30 s busy timeout)."""

from __future__ import annotations

import sqlite3
import threading
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
