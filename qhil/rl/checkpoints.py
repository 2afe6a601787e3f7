"""Atomic, verified checkpoints: `checkpoints/step-000005000/{state.pt, manifest.json}`.

    store = CheckpointStore(run_dir / "checkpoints")
    store.save(state, step)          written to checkpoints/.tmp-*, fsynced, renamed as a whole
    store.load() -> dict | None      the newest that verifies; a corrupt one falls back to the
                                     previous with a one-line warning; None when there is none

A checkpoint holds the learner's side only (networks, optimisers, random states, counters): the
transitions are in the run's journal, so no buffer is written while the explorer adds to it.
The manifest holds the state file's size and SHA-256; `load` refuses a file that does not match.
That guards against corruption, not against an author: every state file is read by
`torch_load_safe` (tensors and plain data; random states are tensors and dicts of ints), and one
that holds pickled objects is refused outright (UntrustedFileError), never skipped or run.
The newest `KEEP` checkpoints are kept. Runs from before this layout (`latest.pt` beside
`replay.npz` and `pairs.npz`) are read by `load_legacy`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import torch

from qhil.errors import UntrustedFileError
from qhil.files import plain_data, torch_load_safe

KEEP = 3
STATE, MANIFEST, LEGACY = "state.pt", "manifest.json", "latest.pt"


class CheckpointStore:
    """The checkpoints folder of one run."""

    def __init__(self, path: Path, warn=None):
        self.path = Path(path)
        self.warn = warn or (lambda line: print(f"qhil: warning: {line}", file=sys.stderr))

    def folders(self) -> list[Path]:
        """Complete checkpoints, newest first (temporary folders of a killed write are not)."""
        if not self.path.is_dir():
            return []
        return sorted(self.path.glob("step-*"), key=lambda p: p.name, reverse=True)

    def exists(self) -> bool:
        return bool(self.folders()) or (self.path / LEGACY).is_file()

    def save(self, state: dict[str, Any], step: int) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        final = self.write(self.path / f"step-{step:09d}", state, step)
        self._prune()
        return final

    def write(self, final: Path, state: dict[str, Any], step: int) -> Path:
        """`state` as the checkpoint folder `final` (replaced as a whole if it exists)."""
        data = _to_bytes(state)  # a state that is not plain data is refused before any write
        tmp = self.path / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            _write_synced(tmp / STATE, data)
            manifest = {"step": step, "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()}
            _write_synced(tmp / MANIFEST, json.dumps(manifest).encode())
        except OSError:  # a full disk: the half-written folder goes, the last checkpoint stays
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():  # the same step again (e.g. a budget stop right after a checkpoint)
            shutil.rmtree(final)
        os.rename(tmp, final)
        _sync_dir(self.path)
        return final

    def load(self) -> dict[str, Any] | None:
        """The newest checkpoint that verifies, or None when there is none."""
        folders = self.folders()
        for index, folder in enumerate(folders):
            try:
                return _verified(folder)
            except UntrustedFileError:
                raise  # a hostile or old-format file is named, not passed over
            except Exception as exc:  # any unreadable checkpoint: fall back, say which
                after = folders[index + 1].name if index + 1 < len(folders) else "the start"
                self.warn(f"checkpoint {folder.name} is unreadable ({exc}); resuming from {after}")
        return None

    def load_legacy(self) -> dict[str, Any] | None:
        """A checkpoint in the layout before this one (`latest.pt`), or None."""
        path = self.path / LEGACY
        return torch_load_safe(path, path) if path.is_file() else None

    def clean(self) -> None:
        """Remove what a killed write left half done (temporary folders)."""
        for tmp in self.path.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)

    def _prune(self) -> None:
        for old in self.folders()[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
        self.clean()


def _verified(folder: Path) -> dict[str, Any]:
    return torch_load_safe(verified_bytes(folder)[1], folder / STATE)


def verified_bytes(folder: Path) -> tuple[int, bytes]:
    """A checkpoint folder's step and state file, whose size and SHA-256 match its manifest."""
    manifest = json.loads((folder / MANIFEST).read_text())
    data = (folder / STATE).read_bytes()
    if len(data) != manifest["bytes"] or hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise ValueError(f"{STATE} has {len(data)} bytes that do not match its manifest")
    return int(manifest["step"]), data


def _to_bytes(state: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save(plain_data(state), buffer)  # numpy values as numbers: torch_load_safe reads it
    return buffer.getvalue()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
