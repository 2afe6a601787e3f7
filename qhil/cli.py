"""The `qhil` command. Each subcommand lives in qhil/commands/<name>.py with `register(sub)`.

Errors a user can mend print one line and exit 2; nothing is spent before validation.
`--debug` (or QHIL_DEBUG=1) shows the traceback instead.

The parser imports only the module of the command named on the line (`qhil --help` none: the
one-line helps live in COMMANDS), and a command module's top imports only what its options need
(argparse, pydantic configs, tuples of names); torch, numpy and vendor SDKs are imported by its
`run`, so `--help`, `--version` and argument errors answer at once
(`benchmarks/bench_cli_startup.py`).
Every option's help states its default: the formatter appends argparse's default where there is
one; options whose absence means "from the config" or "from the profile" say so in their text.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sqlite3
import sys
from pathlib import Path

from qhil import __version__
from qhil.errors import QhilError

COMMANDS = {  # name -> one-line help; qhil/commands/<name>.py holds the rest
    "providers": "List provider profiles and whether each is usable here.",
    "sample": "Run one batch of random hDQNN circuits on a provider.",
    "train": "Train hDQNN-TD3 with a quantum processor in the loop.",
    "evaluate": "Evaluate a trained run's policy on a provider.",
    "estimate": "Shots, jobs, QPU time, wall time and dollars of a run.",
    "calibrate": "Probe a provider and write a fitted calibration file.",
    "compare": "Compare providers on the same probe workload.",
    "ledger": "Jobs, shots, dollars and latency percentiles of a ledger.",
    "qtrl": "Train a Quantum-Train policy with N agents (Dist-QTRL).",
    "sweep": "Sweep training runs over seeds and a grid on Ray Tune (qhil[ray]).",
    "convert-checkpoints": "Rewrite a trusted run folder's old pickled checkpoints safely.",
}


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help unless the text already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or not action.option_strings or action.nargs == 0:
            return text
        if action.default is None or action.default is argparse.SUPPRESS:
            return text
        text = text.rstrip()
        if text.endswith("."):
            return f"{text[:-1]} (default: %(default)s)."
        return f"{text} (default: %(default)s)"


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2, and shows defaults."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        _fail(f"{message} (see '{self.prog} --help')", 2)


ALL = "all"


class _Commands:
    """The subparsers as a command's `register(sub)` sees them: `add_parser(name)` takes its
    one-line help from COMMANDS, so `qhil --help` can list every command without importing any."""

    def __init__(self, sub: argparse._SubParsersAction):
        self._sub = sub

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        parser = self._sub.add_parser(name, help=COMMANDS[name], **kwargs)
        parser.add_argument("--quiet", action="store_true",
                            help="No progress lines on stderr (warnings and errors still print; "
                            "default: progress with ETA for every long phase; QHIL_QUIET=1 too).")
        return parser


def build_parser(only: str | None = ALL) -> argparse.ArgumentParser:
    """The parser with every command's options (`only` = ALL), or with just one command's (the
    others listed by name and help), or with none (`only` = None: `qhil --help`, `--version`)."""
    parser = OneLineParser(prog="qhil", description=(
        "Real quantum processors in the loop of RL training, with the cost told beforehand."))
    parser.add_argument("--version", action="version", version=f"qhil {__version__}")
    parser.add_argument("--debug", action="store_true", help="Show tracebacks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        if only in (ALL, name):
            module = f"qhil.commands.{name.replace('-', '_')}"
            importlib.import_module(module).register(_Commands(sub))
        else:
            sub.add_parser(name, help=COMMANDS[name])
    return parser


def command_in(argv: list[str]) -> str | None:
    """The command an argument list names (its first word that is one), or None."""
    return next((word for word in argv if word in COMMANDS), None)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run a subcommand, turning every expected failure into one line and a code.
    `--debug` may stand anywhere on the line (before `--`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    argv, debug = _take_debug(argv)
    debug = debug or os.environ.get("QHIL_DEBUG") == "1"
    parser = build_parser(command_in(argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        sys.exit(2)
    if getattr(args, "quiet", False):
        from qhil.progress import set_quiet

        set_quiet(True)
    try:
        code = _run_command(args, debug)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()  # `qhil ... | head -1`: the reader left; not an error
        code = 0
    except QhilError as exc:
        if debug:
            raise
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        if debug:
            raise
        _fail(interrupted_message(args), 130)
    except (OSError, sqlite3.DatabaseError, UnicodeError) as exc:  # a file or disk the user owns
        if debug:
            raise
        _fail(f"{exc} (nothing else was changed; run with --debug for the traceback)", 2)
    _exit(code or 0)


def _exit(code: int) -> None:
    """sys.exit, except in a torchrun worker that joined the agents' group, which leaves without
    tearing the group down (qhil.qtrl.launch.exit_without_teardown says why)."""
    launch = sys.modules.get("qhil.qtrl.launch")
    if launch is not None and launch.under_torchrun() and launch.joined_group():
        launch.exit_without_teardown(code)
    sys.exit(code)


def _run_command(args: argparse.Namespace, debug: bool) -> int | None:
    """The command; a full disk (found anywhere in the exception's chain) stops it with exit 3
    and the command that continues the run once space is freed."""
    try:
        return args.func(args)
    except Exception as exc:
        if debug or not full_disk(exc):
            raise
        _fail(disk_full_message(args, exc), 3)


def full_disk(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from, is ENOSPC / EDQUOT or SQLITE_FULL."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def disk_full_message(args: argparse.Namespace, exc: BaseException) -> str:
    """What a full disk leaves: files intact, and how to go on once space is freed."""
    folder = getattr(args, "resume", None) or getattr(args, "out", None)
    if args.command in ("train", "qtrl") and folder and (Path(folder) / "config.toml").exists():
        return (f"the disk is full ({exc}); the run stopped with its journal, ledger and last "
                f"checkpoint intact; free some space, then continue it with: "
                f"qhil {args.command} --resume {folder}")
    return f"the disk is full ({exc}); free some space and run the command again"


def _take_debug(argv: list[str]) -> tuple[list[str], bool]:
    end = argv.index("--") if "--" in argv else len(argv)
    head = [a for a in argv[:end] if a != "--debug"]
    return head + argv[end:], len(head) != end


def interrupted_message(args: argparse.Namespace) -> str:
    """What Ctrl-C leaves: the command that continues a run folder, where there is one."""
    folder = getattr(args, "resume", None) or getattr(args, "out", None)
    if args.command in ("train", "qtrl") and folder and (Path(folder) / "config.toml").exists():
        return (f"interrupted; the run stopped at its last checkpoint; continue it with: "
                f"qhil {args.command} --resume {folder}")
    if args.command == "sweep" and folder and (Path(folder) / "sweep.json").exists():
        return (f"interrupted; finished trials are kept; continue the sweep with: "
                f"qhil sweep --resume {folder}")
    ledger = _kept_ledger(args)
    if ledger is not None:
        return f"interrupted; nothing more was sent; jobs already sent are recorded in {ledger}"
    return ("interrupted; nothing more was sent; qhil " + str(args.command) + " kept no ledger, "
            "so a job already sent is on record only with its provider")


def _kept_ledger(args: argparse.Namespace) -> Path | None:
    """The ledger file this command wrote its jobs to, where one exists on disk."""
    places = [getattr(args, "ledger", None)]
    if args.command == "evaluate":
        places.append(Path(args.run_dir) / "evaluations" / "ledger.sqlite")
    if args.command in ("train", "qtrl"):
        folder = getattr(args, "resume", None) or getattr(args, "out", None)
        places.append(folder and Path(folder) / "ledger.sqlite")
    return next((Path(p) for p in places if p and Path(p).is_file()), None)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so Python's exit flush cannot fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _fail(message: str, code: int) -> None:
    try:
        print(f"qhil: error: {' '.join(message.split())}", file=sys.stderr)
    except BrokenPipeError:
        pass
    _exit(code)
