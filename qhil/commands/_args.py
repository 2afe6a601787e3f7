"""Argument types shared by the subcommands: each rejects bad input with a one-line reason."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    value = _number(text, int, "a positive integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int, "a non-negative integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a positive number")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float, "a non-negative number")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text}")
    return value


def _number(text: str, kind: type, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got '{text}'") from None
    if kind is float and value != value:  # NaN
        raise argparse.ArgumentTypeError(f"must be {what}, got '{text}'")
    return value


def profile_path(text: str) -> str:
    """`--profile PATH`: an existing profile file, made absolute (so it is never read as a name)."""
    from pathlib import Path

    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no profile file '{text}'")
    return str(path.resolve())


def add_provider_flags(parser: argparse.ArgumentParser, default: str | None, help: str,
                       required: bool = False) -> None:
    """`--provider NAME|PATH` and, as the contract says, `--profile PATH`; both set args.provider.
    `help` must say what the default is."""
    group = parser.add_mutually_exclusive_group(required=required)
    # both defaults suppressed (the default is set on the parser) so that argparse sees any value
    # given, even one equal to the default, and refuses --provider with --profile
    parser.set_defaults(provider=default)
    group.add_argument("--provider", default=argparse.SUPPRESS, metavar="NAME|PATH", help=help)
    group.add_argument("--profile", dest="provider", type=profile_path, metavar="PATH",
                       default=argparse.SUPPRESS,
                       help="A provider profile file anywhere, in place of --provider (default: none).")


def lazy_choice(module: str, attribute: str, extra: tuple[str, ...] = ()):
    """An argument type accepting the names in module.attribute (plus `extra`), imported only
    when the option is given, so building the parser imports nothing heavy."""
    def check(text: str) -> str:
        import importlib

        names = (*getattr(importlib.import_module(module), attribute), *extra)
        if text not in names:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(names)}, got '{text}'")
        return text
    return check
