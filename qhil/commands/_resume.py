"""`--resume DIR` checked before anything is written or sent: a finished run is reported and
left alone, `--steps` may only rise, and the checkpoint and ledger must be readable (a damaged
one is refused with exit 2, leaving every file as it was)."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

from qhil.errors import ConfigError
from qhil.paths import check_ledger_file


def finished_steps(folder: Path) -> int | None:
    """The steps of the run's final summary, or None when it has not finished."""
    path = folder / "summary.json"
    if not path.is_file():
        return None
    try:
        steps = json.loads(path.read_text(encoding="utf-8")).get("steps")
    except (ValueError, OSError, AttributeError):
        return None
    return steps if isinstance(steps, int) else None


def check_steps(flag: str, asked: int, done: int, folder: Path, command: str) -> None:
    """A resume may move the target, never below what the run already did."""
    if asked < done:
        raise ConfigError(f"{flag} {asked} is lower than the {done:,} the run already did; "
                          f"--resume can only go on from there (qhil {command} --resume {folder} "
                          f"{flag} N with N >= {done}), or start a new run with --out")


def check_checkpoint(path: Path, folder: Path, command: str) -> dict:
    """The checkpoint, loaded safely (tensors and plain data, on the CPU); a truncated, foreign or
    pickled-object file is refused."""
    if not path.is_file():
        raise ConfigError(f"{folder} has no checkpoint yet ({path.name}); start the run again "
                          f"with 'qhil {command} --out NEW_DIR'")
    from qhil.files import torch_load_safe

    try:
        state = torch_load_safe(path, path)  # an UntrustedFileError names the conversion
    except (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, OSError,
            ValueError, KeyError, AttributeError, ImportError) as exc:
        why = str(exc).split(". ")[0][:120]
        raise ConfigError(f"{path} is damaged ({type(exc).__name__}: {why}); nothing was changed; "
                          f"restore it from a copy or start a new run with --out") from exc
    if not isinstance(state, dict):
        raise ConfigError(f"{path} is not a qhil checkpoint; restore it from a copy or start a "
                          f"new run with --out")
    return state


def check_run_files(folder: Path, checkpoint: Path, command: str) -> dict:
    """Everything a resume reads, before it writes anything; returns the checkpoint."""
    state = check_checkpoint(checkpoint, folder, command)
    ledger = folder / "ledger.sqlite"
    if ledger.exists():
        check_ledger_file(ledger, "the run's ledger")
    return state
