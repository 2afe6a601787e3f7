"""The one spending road: (provider, what will be sent, budget, consent) -> a Dispatcher ready to spend.

    dispatcher = qhil.open_dispatcher("ibm-torino", spend, qhil.Budget(usd=5), yes=True,
                                      ledger="runs/x/ledger.sqlite")

Every entry point that can submit opens its Dispatcher here: each command, `qhil.train`,
`load_policy(forward="hardware")`, `QuantumLayer`, and plugins (a PennyLane device, a sweep).
Before the Dispatcher exists, and so before anything is sent, `agree` checks:

- `spend` (a `Spend`: the jobs, shots and dollars about to be sent) against the budget's limits,
  on every provider, free ones too (BudgetExceededError, exit 2);
- on a device that bills, a budget is required (`budget_required=False` only where the spend is
  bounded by its estimate and a person is asked: the commands), and the spend is consented to:
  `yes=True`, or `ask(question)` answering y, or a person at the terminal (UserError otherwise).
  With no `spend` (an open-ended workload, such as a torch layer's forward passes) the consent
  covers "up to the budget".

What was agreed is an `Agreement`; a caller that must write something between the question and
the first job (a run folder holding the ledger) agrees first and opens with `agreement=`. During
the run the Budget is enforced job by job by the Dispatcher; what was spent is what its ledger
records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qhil.config import ProviderProfile, find_profile
from qhil.errors import ConfigError, UserError
from qhil.execution.budget import Budget
from qhil.execution.dispatcher import Dispatcher
from qhil.execution.ledger import Ledger
from qhil.execution.pricing import Quote, profile_bills
from qhil.execution.provider import Provider
from qhil.execution.registry import provider_for
from qhil.execution.spend import Spend, consent

Ask = Callable[[str], str]
Say = Callable[[str], Any]
Where = str | Path | ProviderProfile | Provider


@dataclass(frozen=True)
class Agreement:
    """Spending checked and agreed to before anything was written or sent, on these devices."""

    profiles: tuple[ProviderProfile, ...]
    spend: Spend
    budget: Budget | None

    def profile(self, provider: Where) -> ProviderProfile:
        """The agreed profile of that provider; another provider is refused."""
        name = _profile(provider).name
        for profile in self.profiles:
            if profile.name == name:
                return profile
        raise ConfigError(f"spending was agreed on {', '.join(self.spend.devices)}, not {name}; "
                          f"agree to spend on the provider you open")


def open_dispatcher(provider: Where, spend: Spend | None = None, budget: Budget | None = None, *,
                    yes: bool = False, ask: Ask | None = None,
                    ledger: Ledger | str | Path | None = None,
                    agreement: Agreement | None = None, what: str = "the jobs",
                    budget_required: bool = True, say: Say | None = None,
                    reuse_results: bool = True, quotes: Iterable[Quote] = ()) -> Dispatcher:
    """A Dispatcher on `provider` (a profile name or path, a profile, or a Provider) once the
    spend fits the budget and, on a device that bills, is consented to (or was: `agreement`);
    raises a UserError otherwise, with nothing opened or sent. `ledger`: a Ledger or a file
    (default in memory); `budget` with an agreement: the Dispatcher's own (e.g. seeded with
    what a resumed run spent), default the agreed one; `quotes`: the requests the caller
    validated and priced for `spend` (`pricing.quote`), not validated or priced again."""
    if agreement is None:
        agreement = agree(provider, spend, budget, yes=yes, ask=ask, what=what,
                          budget_required=budget_required, say=say)
    profile = agreement.profile(provider)
    if not isinstance(provider, Provider):
        provider = provider_for(profile)
    book = Ledger(ledger) if isinstance(ledger, (str, Path)) else ledger
    return Dispatcher(provider, ledger=book, budget=agreement.budget if budget is None else budget,
                      reuse_results=reuse_results, quotes=quotes)


def agree(provider: Where | Sequence[Where], spend: Spend | None = None,
          budget: Budget | None = None, *, yes: bool = False, ask: Ask | None = None,
          what: str = "the jobs", budget_required: bool = True,
          say: Say | None = None) -> Agreement:
    """The checks of `open_dispatcher`, for a caller that opens its Dispatcher later (or several:
    `provider` may be a list, such as the providers a comparison probes, with one spend)."""
    many = provider if isinstance(provider, (list, tuple)) else [provider]
    profiles = tuple(_profile(p) for p in many)
    billing = [p.name for p in profiles if profile_bills(p)]
    if billing and budget_required and budget is None:
        raise UserError(f"{', '.join(billing)} bills per job or shot and no budget was given: "
                        f"nothing was sent; pass budget=qhil.Budget(usd=...) and yes=True "
                        f"(or ask=...)")
    if spend is None:
        spend = Spend.up_to(budget, what, ", ".join(p.name for p in profiles), bool(billing))
    consent(spend, budget, yes=yes, ask=ask, say=say)
    return Agreement(profiles, spend, budget)


def _profile(provider: Where) -> ProviderProfile:
    if isinstance(provider, Provider):
        return provider.profile
    return provider if isinstance(provider, ProviderProfile) else find_profile(str(provider))
