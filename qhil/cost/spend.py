"""The one spending path of every command that submits work (sample, train, evaluate, compare,
calibrate, qtrl; `preflight.ask_to_spend` too): the command states what it will send as a
`Spend`, then, before the first job,

    consent(spend, budget, yes=args.yes)

refuses a spend over any --budget-* limit (every provider, free ones too: exit 2, nothing sent),
and on a device that bills prints the estimate on stderr and asks; `--yes` skips the question,
and with no terminal to ask on and no `--yes` it refuses (exit 2). Nothing is spent before this.
During the run the same budget is enforced job by job by the Dispatcher.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qhil.errors import BudgetExceededError, UserError


@dataclass(frozen=True)
class Spend:
    """What a command is about to send: its jobs, shots and estimated dollars on one or more
    devices (`charges`: at least one of them bills)."""

    what: str
    devices: tuple[str, ...]
    charges: bool
    jobs: int
    shots: int
    cost_usd: Decimal
    cost_usd_high: Decimal | None = None
    extra: str = ""  # e.g. the wall-time estimate

    def describe(self) -> str:
        band = "" if self.cost_usd_high is None or self.cost_usd_high == self.cost_usd \
            else f" (up to {dollars(self.cost_usd_high)})"
        extra = f", {self.extra}" if self.extra else ""
        return (f"{self.what} on {', '.join(self.devices)}: {self.jobs:,} jobs, "
                f"{self.shots:,} shots{extra}, about {dollars(self.cost_usd)}{band}")

    def __add__(self, other: Spend) -> Spend:
        high = None if self.cost_usd_high is None and other.cost_usd_high is None else \
            (self.cost_usd_high or self.cost_usd) + (other.cost_usd_high or other.cost_usd)
        return Spend(self.what, tuple(dict.fromkeys(self.devices + other.devices)),
                     self.charges or other.charges, self.jobs + other.jobs,
                     self.shots + other.shots, self.cost_usd + other.cost_usd, high)


    @classmethod
    def of_estimate(cls, result: Any, method: str, what: str) -> Spend:
        """The spend of one method of a run's cost estimate (`qhil.cost.estimate`)."""
        m = result.methods[method]
        return cls(what, (result.device.name,), result.device.charges, m.jobs, m.shots,
                   m.cost_usd, m.cost_usd_high,
                   extra=f"{m.qpu_s:.1f} QPU s, wall {hours(m.wall_s)}")


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds:.1f} s"


def dollars(value: Decimal) -> str:
    from qhil.execution.budget import format_usd

    return format_usd(Decimal(value).quantize(Decimal("0.000001")))


def request_spend(what: str, profile: Any, requests: list[Any], repeats: int = 1) -> Spend:
    """The spend of sending each request `repeats` times to the profile's device."""
    from qhil.cost.device import DeviceModel
    from qhil.execution.pricing import job_cost_usd, tasks_for

    cost = sum((job_cost_usd(profile, r) for r in requests), Decimal(0)) * repeats
    return Spend(what, (profile.name,), DeviceModel.from_profile(profile).charges,
                 jobs=repeats * sum(tasks_for(profile, r) for r in requests),
                 shots=repeats * sum(r.total_shots for r in requests), cost_usd=cost)


def check_budget(spend: Spend, budget: Any) -> None:
    """Refuse a spend over any limit of the budget (a Budget: what it has left)."""
    from qhil.cost.preflight import budget_limits
    from qhil.execution.budget import BudgetState

    usd, shots, jobs = budget_limits(budget)
    over = [name for name, need, limit in (("shots", spend.shots, shots),
                                           ("dollars", spend.cost_usd, usd),
                                           ("jobs", spend.jobs, jobs))
            if limit is not None and need > limit]
    if over:
        raise BudgetExceededError(
            f"budget exceeded ({', '.join(over)}): {spend.what} on {', '.join(spend.devices)} "
            f"needs {spend.shots:,} shots, about {dollars(spend.cost_usd)}, {spend.jobs:,} jobs; "
            f"left: {BudgetState(shots, usd, jobs).describe()}; nothing was sent; raise "
            f"--budget-shots/--budget-usd/--budget-jobs or ask for less")


def interactive() -> bool:
    """Whether a person can answer on this terminal (stdin and stderr are TTYs)."""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def consent(spend: Spend, budget: Any = None, *, yes: bool = False,
            ask: Callable[[str], str] | None = None, say: Callable[[str], Any] | None = None) -> None:
    """Before the first job: the budget check, then on a device that bills the estimate and the
    question (`yes` skips it). Raises UserError (exit 2) when the answer is not yes."""
    check_budget(spend, budget)
    if not spend.charges:
        return
    if yes:
        (say or _stderr)(f"qhil: {spend.describe()}")
        return
    if ask is None and not interactive():
        raise UserError(f"{spend.describe()}; this device bills and there is no terminal to ask "
                        f"on: nothing was sent; pass --yes to spend it")
    (say or _stderr)(f"qhil: {spend.describe()}")
    try:
        answer = (ask or _ask_on_stderr)("go on and spend this? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise UserError("nothing was sent and nothing was spent; answer y, or pass --yes")


def _ask_on_stderr(question: str) -> str:
    """The question on stderr (stdout may be a pipe holding --json), the answer from stdin."""
    print(question, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
