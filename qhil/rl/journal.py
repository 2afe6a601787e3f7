"""The run's durable record of exploration: `transitions.sqlite` (SQLite, WAL) in the run folder.

    journal = Journal(run_dir / "transitions.sqlite", layout)
    journal.intend(vstep, q_in)        the controls of the job about to be sent (before the job)
    journal.append(vstep, rows, eps)   one vector step's transitions, BEFORE the learner sees them
    journal.pending() -> q_in | None   a job sent whose step was never stored (adopted on resume)
    journal.replay_into(replay, pairs) rebuild both buffers after a restart
    journal.note(key, value) / journal.noted(key)   small values kept beside the steps
    journal.record_update(number, rows)   a learner update's minibatch (row numbers), BEFORE its jobs
    journal.recorded_update(number) / journal.transitions_at(rows)   what a restored learner replays
    journal.update_requests(number, digests) / journal.forget_updates(through) -> digests
    journal.begin_eval(name, actor) / journal.finish_eval(name, returns) / journal.open_evals()

One committed transaction per write in WAL mode with synchronous=NORMAL: a killed process
(SIGKILL) loses nothing committed; an fsync per write is not paid (a power cut may lose the last
steps, which the ledger's durable rows still account for). A row holds the step's arrays as one
float32 buffer in `Layout` order, so a 10,000-step Pendulum run is about a megabyte.

Resume from any kill point: the buffers are rebuilt from every stored step; the intended job of a
step that was never stored is sent again with the same request (same controls, same seed), so the
Dispatcher reuses its stored result or re-attaches it in flight: never bought twice. Its
(q_i, q_o) then drive the first step after the restart. An evaluation whose actor was stored but
whose returns were not is run again from that actor: its requests repeat, and are reused.

The learner's side (gradient methods that send jobs: parameter-shift, spsa, exact): every update
records its minibatch as the run's row numbers before it sends anything, and the request hashes
it sent once it is done. A learner restored from a checkpoint replays the updates recorded since:
the same rows read back from here, the same random draws (the generators' states are in the
checkpoint), the same networks, hence the same requests, which the ledger answers (their results
are kept until no kept checkpoint can replay them: `forget_updates`, then
`Ledger.forget_results`). About 4 bytes a minibatch row and 32 a job, for the updates since the
oldest kept checkpoint only.
"""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from qhil.errors import ConfigError
from qhil.execution.sqlite import LockedSqlite, read_only

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (vstep INTEGER PRIMARY KEY, data BLOB NOT NULL, episodes TEXT);
CREATE TABLE IF NOT EXISTS intent (slot INTEGER PRIMARY KEY, vstep INTEGER NOT NULL,
                                   q_in BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS evals (name TEXT PRIMARY KEY, actor BLOB NOT NULL, returns TEXT);
CREATE TABLE IF NOT EXISTS updates (number INTEGER PRIMARY KEY, rows BLOB NOT NULL,
                                    requests BLOB);
"""
FIELDS = ("obs", "actions", "rewards", "next_obs", "dones", "q_in", "q_out")


@dataclass(frozen=True)
class Layout:
    """Widths of one transition's fields (rewards and dones are scalars)."""

    obs: int
    actions: int
    q_in: int
    q_out: int

    def widths(self) -> dict[str, int]:
        return {"obs": self.obs, "actions": self.actions, "rewards": 1, "next_obs": self.obs,
                "dones": 1, "q_in": self.q_in, "q_out": self.q_out}

    def pack(self, rows: dict[str, np.ndarray]) -> bytes:
        batch = len(rows["obs"])
        parts = [np.asarray(rows[k], dtype=np.float32).reshape(batch, -1) for k in FIELDS]
        return np.concatenate(parts, axis=1).tobytes()

    def unpack(self, blobs: list[bytes]) -> dict[str, np.ndarray]:
        """Many steps' rows stacked: (N, width) per field, rewards and dones (N,)."""
        widths = self.widths()
        flat = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, sum(widths.values()))
        out, start = {}, 0
        for key in FIELDS:
            out[key] = flat[:, start:start + widths[key]]
            start += widths[key]
        out["rewards"], out["dones"] = out["rewards"][:, 0], out["dones"][:, 0]
        return out


def stored_transitions(path: Path, num_envs: int) -> int | None:
    """Transitions a run's journal holds (read-only), None without a journal; a damaged one is
    a ConfigError (nothing is changed)."""
    if not path.is_file():
        return None
    try:
        with read_only(path) as db:
            if not db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                return 0  # created, its schema not yet written (a kill, or a reader, came first)
            return db.execute("SELECT COUNT(*) FROM steps").fetchone()[0] * num_envs
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{path} is damaged ({exc}); nothing was changed; restore it from a "
                          f"copy or start a new run with --out") from None


class Journal(LockedSqlite):
    """A thread-safe handle on one run's transition journal."""

    def __init__(self, path, layout: Layout):
        self.path, self.layout = path, layout
        self._connect(path)
        self._use_wal()
        self._db.executescript(SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))

    # exploration --------------------------------------------------------------------------

    def intend(self, vstep: int, q_in: np.ndarray) -> None:
        """The controls of the job the explorer is about to send for step `vstep`."""
        blob = np.asarray(q_in, dtype=np.float32).tobytes()
        self._write("INSERT OR REPLACE INTO intent VALUES (0, ?, ?)", (vstep, blob))

    def append(self, vstep: int, rows: dict[str, np.ndarray],
               episodes: list[tuple[int, float, int]]) -> None:
        """One vector step's transitions (and the episodes it finished), committed."""
        text = json.dumps(episodes) if episodes else None
        self._write("INSERT INTO steps VALUES (?, ?, ?)", (vstep, self.layout.pack(rows), text))

    def note(self, key: str, value: str) -> None:
        """A value kept beside the steps (e.g. qhil.distributed's steps taken from each explorer)."""
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def noted(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else row[0]

    def vsteps(self) -> int:
        return self._one("SELECT COUNT(*) FROM steps")[0]

    def pending(self) -> np.ndarray | None:
        """The controls of a job sent for a step never stored, (B, control_dim); else None."""
        row = self._one("SELECT vstep, q_in FROM intent WHERE slot = 0")
        if row is None or row[0] < self.vsteps():
            return None
        return np.frombuffer(row[1], dtype=np.float32).reshape(-1, self.layout.q_in)

    def rows(self) -> dict[str, np.ndarray]:
        """Every stored transition, in step order."""
        blobs = [r[0] for r in self._all("SELECT data FROM steps ORDER BY vstep")]
        return self.layout.unpack(blobs)

    def episodes(self) -> list[tuple[int, float, int]]:
        texts = self._all("SELECT episodes FROM steps WHERE episodes IS NOT NULL ORDER BY vstep")
        return [tuple(e) for (t,) in texts for e in json.loads(t)]

    def replay_into(self, replay, pairs, with_pairs: bool) -> int:
        """Rebuild the replay (and the qtDNN buffer) from every stored step; returns transitions."""
        data = self.rows()
        count = len(data["obs"])
        if count:  # only the newest `capacity` rows survive in a ring: add just those
            replay.add(**{k: v[-replay.capacity:] for k, v in data.items()})
        if count and with_pairs:
            pairs.add(q_in=data["q_in"][-pairs.capacity:], q_out=data["q_out"][-pairs.capacity:])
        replay.added = count  # the ring's rows keep their numbers in the run
        return count

    # the learner's updates ---------------------------------------------------------------

    def record_update(self, number: int, rows: np.ndarray) -> None:
        """Update `number`'s minibatch, as row numbers of the run (before its jobs are sent)."""
        blob = np.asarray(rows, dtype=np.uint32).tobytes()
        self._write("INSERT OR REPLACE INTO updates (number, rows) VALUES (?, ?)", (number, blob))

    def recorded_update(self, number: int) -> tuple[np.ndarray, list[str]] | None:
        """Update `number`'s minibatch rows and the request hashes it sent, or None."""
        row = self._one("SELECT rows, requests FROM updates WHERE number = ?", (number,))
        if row is None:
            return None
        sent = row[1] or b""
        return (np.frombuffer(row[0], dtype=np.uint32).astype(np.int64),
                [sent[i:i + 32].hex() for i in range(0, len(sent), 32)])

    def last_recorded_update(self) -> int:
        return self._one("SELECT COALESCE(MAX(number), 0) FROM updates")[0]

    def update_requests(self, number: int, digests: list[str]) -> None:
        """The request hashes update `number` sent (its results are kept while it may replay)."""
        blob = b"".join(bytes.fromhex(d) for d in digests)
        self._write("UPDATE updates SET requests = ? WHERE number = ?", (blob, number))

    def forget_updates(self, through: int) -> list[str]:
        """Drop the records of updates 1..`through` (no kept checkpoint replays them); returns
        the request hashes they sent, whose stored results may go too."""
        blobs = self._all("SELECT requests FROM updates WHERE number <= ? AND requests IS NOT "
                          "NULL", (through,))
        self._write("DELETE FROM updates WHERE number <= ?", (through,))
        joined = b"".join(b for (b,) in blobs)
        return [joined[i:i + 32].hex() for i in range(0, len(joined), 32)]

    def transitions_at(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Stored transitions by row number (steps of equal width, as a run's are), in order."""
        rows = np.asarray(rows, dtype=np.int64)
        first = self._one("SELECT LENGTH(data) FROM steps ORDER BY vstep LIMIT 1")
        per_step = first[0] // (4 * sum(self.layout.widths().values()))
        steps = np.unique(rows // per_step)
        marks = ",".join("?" * len(steps))
        found = self._all(f"SELECT vstep, data FROM steps WHERE vstep IN ({marks}) ORDER BY vstep",
                          tuple(int(v) for v in steps))
        data = self.layout.unpack([blob for _, blob in found])
        at = np.searchsorted(np.array([v for v, _ in found]), rows // per_step) * per_step
        return {k: v[at + rows % per_step] for k, v in data.items()}

    # evaluations --------------------------------------------------------------------------

    def begin_eval(self, name: str, actor_state: dict) -> None:
        """Store the actor of evaluation `name` before it runs (a stored one is kept)."""
        buffer = io.BytesIO()
        torch.save(actor_state, buffer)
        self._write("INSERT OR IGNORE INTO evals (name, actor) VALUES (?, ?)",
                    (name, buffer.getvalue()))

    def eval_actor(self, name: str) -> dict:
        (blob,) = self._one("SELECT actor FROM evals WHERE name = ?", (name,))
        return torch.load(io.BytesIO(blob), weights_only=True)

    def finish_eval(self, name: str, returns: list[float]) -> None:
        self._write("UPDATE evals SET returns = ? WHERE name = ?", (json.dumps(returns), name))

    def open_evals(self) -> list[str]:
        """Evaluations begun and never finished, in the order they began."""
        return [r[0] for r in self._all("SELECT name FROM evals WHERE returns IS NULL ORDER BY rowid")]

    def eval_names(self) -> list[str]:
        return [r[0] for r in self._all("SELECT name FROM evals ORDER BY rowid")]

    def eval_returns(self, name: str) -> list[float] | None:
        row = self._one("SELECT returns FROM evals WHERE name = ?", (name,))
        return None if row is None or row[0] is None else json.loads(row[0])

