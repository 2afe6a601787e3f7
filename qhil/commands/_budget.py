"""Flags shared by every command that submits work: --budget-shots/-usd/-jobs and --yes."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from qhil.commands._args import positive_int

if TYPE_CHECKING:
    from qhil.execution.budget import Budget


def usd_amount(text: str) -> Decimal:
    """A non-negative dollar amount, kept exact."""
    try:
        value = Decimal(text.strip().lstrip("$"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"must be a dollar amount, got '{text}'") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative dollar amount, got '{text}'")
    return value


def add_budget_flags(parser: argparse.ArgumentParser) -> None:
    """--budget-shots/-usd/-jobs and --yes (every command that takes them submits work)."""
    add_yes_flag(parser)
    group = parser.add_argument_group("budget (refused before sending when it would be exceeded)")
    group.add_argument("--budget-shots", type=positive_int, default=None,
                       help="Most shots (circuits x shots) to spend (default: no limit).")
    group.add_argument("--budget-usd", type=usd_amount, default=None,
                       help="Most dollars to spend, at the calibration snapshot's prices "
                       "(default: no limit).")
    group.add_argument("--budget-jobs", type=positive_int, default=None,
                       help="Most provider jobs (tasks) to submit (default: no limit).")


def add_yes_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true",
                        help="On a device that bills, spend without asking (the estimate is "
                        "still printed); without it and without a terminal, nothing is sent.")


def budget_from_args(args: argparse.Namespace) -> Budget | None:
    """The Budget the flags ask for, or None when none was given."""
    from qhil.execution.budget import Budget

    limits = (args.budget_shots, args.budget_usd, args.budget_jobs)
    if all(v is None for v in limits):
        return None
    return Budget(shots=args.budget_shots, usd=args.budget_usd, jobs=args.budget_jobs)
