"""What an entry point is about to send, as a `Spend`, checked against the budget and agreed to.
Every entry point that submits work (sample, train, evaluate, compare, calibrate, qtrl,
`qhil.train`, `load_policy`, `QuantumLayer`; `cost.preflight.ask_to_spend` too) states its
`Spend` and opens its Dispatcher through `qhil.execution.consent.open_dispatcher`, which calls,
before the first job,

    consent(spend, budget, yes=yes, ask=ask)

which refuses a spend over any --budget-* limit (every provider, free ones too: exit 2, nothing sent),
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
from qhil.execution.budget import BudgetState, format_usd

_USD_NAMES = ("usd", "max_usd", "dollars", "max_dollars", "cost_usd", "budget_usd")
_SHOT_NAMES = ("shots", "max_shots")
_JOB_NAMES = ("jobs", "max_jobs")


@dataclass(frozen=True)
class Spend:
    """What an entry point is about to send: its jobs, circuits (when known), shots and
    estimated dollars on one or more devices (`charges`: at least one of them bills)."""

    what: str
    devices: tuple[str, ...]
    charges: bool
    jobs: int
    shots: int
    cost_usd: Decimal
    cost_usd_high: Decimal | None = None
    extra: str = ""  # e.g. the wall-time estimate
    up_to_budget: str = ""  # an open-ended spend: what the budget leaves (its only bound)
    circuits: int | None = None

    def describe(self) -> str:
        if self.up_to_budget:
            return f"{self.what} on {', '.join(self.devices)}: up to the budget ({self.up_to_budget})"
        band = "" if self.cost_usd_high is None or self.cost_usd_high == self.cost_usd \
            else f" (up to {dollars(self.cost_usd_high)})"
        extra = f", {self.extra}" if self.extra else ""
        circuits = "" if self.circuits is None else f"{self.circuits:,} circuits, "
        return (f"{self.what} on {', '.join(self.devices)}: {self.jobs:,} jobs, {circuits}"
                f"{self.shots:,} shots{extra}, about {dollars(self.cost_usd)}{band}")

    def __add__(self, other: Spend) -> Spend:
        high = None if self.cost_usd_high is None and other.cost_usd_high is None else \
            (self.cost_usd_high or self.cost_usd) + (other.cost_usd_high or other.cost_usd)
        return Spend(self.what, tuple(dict.fromkeys(self.devices + other.devices)),
                     self.charges or other.charges, self.jobs + other.jobs,
                     self.shots + other.shots, self.cost_usd + other.cost_usd, high,
                     circuits=None if None in (self.circuits, other.circuits)
                     else self.circuits + other.circuits)

    @classmethod
    def up_to(cls, budget: Any, what: str, device: str, charges: bool) -> Spend:
        """An open-ended spend (a torch layer's forward passes): bounded by the budget alone."""
        usd, shots, jobs = budget_limits(budget)
        left = BudgetState(shots, usd, jobs)
        return cls(what, (device,), charges, 0, 0, Decimal(0), up_to_budget=left.describe())

    @classmethod
    def of_estimate(cls, result: Any, method: str, what: str) -> Spend:
        """The spend of one method of a run's cost estimate (`qhil.cost.estimate`)."""
        m = result.methods[method]
        return cls(what, (result.device.name,), result.device.charges, m.jobs, m.shots,
                   m.cost_usd, m.cost_usd_high,
                   extra=f"{m.qpu_s:.1f} QPU s, wall {hours(m.wall_s)}", circuits=m.circuits)


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds:.1f} s"


def dollars(value: Decimal) -> str:
    return format_usd(Decimal(value).quantize(Decimal("0.000001")))


def request_spend(what: str, profile: Any, requests: list[Any], repeats: int = 1,
                  quotes: list[Any] | None = None) -> Spend:
    """The spend of sending each request `repeats` times to the profile's device; `quotes`: the
    requests' prices already made (`pricing.quote`), else they are priced here."""
    from qhil.execution.pricing import Quote, job_cost_usd, profile_bills, tasks_for

    quotes = quotes or [Quote("", tasks_for(profile, r), job_cost_usd(profile, r)) for r in requests]
    return Spend(what, (profile.name,), profile_bills(profile),
                 jobs=repeats * sum(q.tasks for q in quotes),
                 shots=repeats * sum(r.total_shots for r in requests),
                 cost_usd=repeats * sum((q.cost_usd for q in quotes), Decimal(0)),
                 circuits=repeats * sum(r.batch_size for r in requests))


def check_budget(spend: Spend, budget: Any) -> None:
    """Refuse a spend over any limit of the budget (a Budget: what it has left)."""
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


def budget_limits(budget: Any) -> tuple[Decimal | None, int | None, int | None]:
    """(dollars, shots, jobs) limits of a budget given as a number, a dict or an object; a
    `qhil.execution.budget.Budget` gives what it has left (`remaining()`)."""
    if budget is None:
        return None, None, None
    if callable(getattr(budget, "remaining", None)):
        budget = budget.remaining()
    if isinstance(budget, (int, float, Decimal, str)):
        return Decimal(str(budget)), None, None
    get = budget.get if isinstance(budget, dict) else (lambda k: getattr(budget, k, None))
    usd, shots, jobs = (next((get(k) for k in names if get(k) is not None), None)
                        for names in (_USD_NAMES, _SHOT_NAMES, _JOB_NAMES))
    return (None if usd is None else Decimal(str(usd)),
            None if shots is None else int(shots), None if jobs is None else int(jobs))


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
                        f"on: nothing was sent; pass --yes (in Python: yes=True) to spend it")
    (say or _stderr)(f"qhil: {spend.describe()}")
    try:
        answer = (ask or _ask_on_stderr)("go on and spend this? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise UserError("nothing was sent and nothing was spent; answer y, or pass --yes "
                        "(in Python: yes=True)")


def _ask_on_stderr(question: str) -> str:
    """The question on stderr (stdout may be a pipe holding --json), the answer from stdin."""
    print(question, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
