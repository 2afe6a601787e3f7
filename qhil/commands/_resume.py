"""`--resume DIR` checked before anything is written or sent: a finished run is reported and
left alone, `--steps` may only rise, and the checkpoint and ledger must be readable (a damaged
one is refused with exit 2, leaving every file as it was)."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

from qhil.commands._paths import check_ledger_file
from qhil.errors import ConfigError


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


def check_steps(flag: str, asked: int, run_has: int, folder: Path, command: str) -> None:
    if asked < run_has:
        raise ConfigError(f"{flag} {asked} is lower than the run's {run_has}; --resume can only "
                          f"raise it (qhil {command} --resume {folder} {flag} N with N >= "
                          f"{run_has}), or start a new run with --out")


def check_checkpoint(path: Path, folder: Path, command: str) -> None:
    """The checkpoint loads (torch, on the CPU); a truncated or foreign file is refused."""
    if not path.is_file():
        raise ConfigError(f"{folder} has no checkpoint yet ({path.name}); start the run again "
                          f"with 'qhil {command} --out NEW_DIR'")
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=False)
    except (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, OSError,
            ValueError, KeyError, AttributeError, ImportError) as exc:
        raise ConfigError(f"{path} is damaged ({type(exc).__name__}: {exc}); nothing was changed; "
                          f"restore it from a copy or start a new run with --out") from exc


def check_run_files(folder: Path, checkpoint: Path, command: str) -> None:
    """Everything a resume reads, before it writes anything."""
    check_checkpoint(checkpoint, folder, command)
    ledger = folder / "ledger.sqlite"
    if ledger.exists():
        check_ledger_file(ledger, "the run's ledger")
