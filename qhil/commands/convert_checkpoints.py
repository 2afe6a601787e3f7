"""`qhil convert-checkpoints DIR --trust`: a run folder's checkpoints written with pickled Python
objects (by an older qhil, or anyone) rewritten as tensors and plain data, which every loader
reads without running code (`qhil.files.torch_load_safe`).

Converting has to unpickle the old files, which runs whatever code they hold, so it asks for
`--trust`: give it only for a folder you wrote yourself or whose author you trust. Without it the
command refuses and nothing is read. Checkpoints already safe are left byte for byte as they are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qhil.errors import ConfigError, UntrustedFileError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert-checkpoints")
    p.add_argument("run_dir", metavar="DIR", help="Run folder (qhil train or qhil qtrl --out DIR).")
    p.add_argument("--trust", action="store_true",
                   help="You trust whoever wrote DIR: its old checkpoints are unpickled (running "
                        "any code inside) and rewritten as tensors and plain data.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.run_dir)
    files = checkpoint_files(folder)
    if not args.trust:
        raise UntrustedFileError(
            f"converting {folder} unpickles its checkpoints, which runs any code they hold; if "
            f"you trust whoever wrote it, say so: qhil convert-checkpoints {folder} --trust")
    converted = [path for path in files if convert(path)]
    print(f"{folder}: {len(converted)} of {len(files)} checkpoints rewritten as tensors and "
          f"plain data; the others were already safe to load")
    return 0


def checkpoint_files(folder: Path) -> list[Path]:
    """Every checkpoint file of a train or qtrl run folder; none is a user error."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder; pass a run folder (qhil train --out DIR)")
    found = sorted(folder.glob("checkpoints/step-*/state.pt"))
    found += [p for p in [folder / "checkpoints" / "latest.pt"] if p.is_file()]
    if not found:
        raise ConfigError(f"{folder} holds no checkpoints (checkpoints/step-*/state.pt or "
                          f"checkpoints/latest.pt); is it a run folder?")
    return found


def convert(path: Path) -> bool:
    """Rewrite one checkpoint safely; False when it already was. Written atomically, then read
    back with the safe loader."""
    from qhil.files import plain_data, torch_load_safe

    try:
        torch_load_safe(_raw(path), path)
        return False
    except UntrustedFileError:
        pass
    try:
        state = plain_data(_unpickle(path))
    except TypeError as exc:
        raise ConfigError(f"{path} holds more than tensors and data ({exc}); qhil cannot "
                          f"convert it; nothing was changed") from exc
    _write(path, state)
    torch_load_safe(path, path)
    return True


def _raw(path: Path) -> bytes:
    """The file's bytes; a step folder's only when they match its manifest."""
    from qhil.rl.checkpoints import verified_bytes

    if path.parent.name.startswith("step-"):
        try:
            return verified_bytes(path.parent)[1]
        except (ValueError, KeyError, OSError) as exc:
            raise ConfigError(f"{path} is damaged ({exc}); restore it from a copy") from exc
    return path.read_bytes()


def _unpickle(path: Path):
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=False)  # the user said --trust
    except Exception as exc:  # whatever an old file's code raises: name it, change nothing
        raise ConfigError(f"{path} could not be unpickled ({type(exc).__name__}: {exc}); "
                          f"nothing was changed") from exc


def _write(path: Path, state) -> None:
    from qhil.files import torch_save_atomic
    from qhil.rl.checkpoints import CheckpointStore, verified_bytes

    if path.parent.name.startswith("step-"):
        step = verified_bytes(path.parent)[0]
        CheckpointStore(path.parent.parent).write(path.parent, state, step)
    else:
        torch_save_atomic(path, state)
