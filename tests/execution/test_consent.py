"""The spending road (`qhil.open_dispatcher`): the spend is checked against the budget and, on a
device that bills, agreed to, before a Dispatcher exists; free devices open as before."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

import qhil
from qhil.errors import BudgetExceededError, ConfigError, UserError
from qhil.execution.consent import agree, open_dispatcher
from qhil.execution.spend import Spend
from tests.execution.helpers import chaos_profile


def batch() -> qhil.SamplingRequest:
    return qhil.HDQNNAnsatz(2, 1).request(np.zeros((2, qhil.HDQNNAnsatz(2, 1).control_dim)),
                                          shots=10, seed=0)


def test_a_free_device_opens_without_budget_or_question(tmp_path):
    dispatcher = open_dispatcher("local", ledger=tmp_path / "l.sqlite")
    with dispatcher.provider, dispatcher.ledger:
        dispatcher.run(batch())
        assert dispatcher.ledger.totals().jobs == 1


def test_a_free_device_still_refuses_a_spend_over_the_budget():
    spend = Spend("ten batches", ("local",), False, 10, 200, Decimal(0))
    with pytest.raises(BudgetExceededError, match=r"budget exceeded \(shots\)"):
        open_dispatcher("local", spend, qhil.Budget(shots=100))


def test_a_billing_device_asks_through_the_callback_and_keeps_the_budget(tmp_path):
    profile = chaos_profile(tmp_path, "priced")
    asked = []
    budget = qhil.Budget(usd=2)
    dispatcher = open_dispatcher(profile, None, budget, ask=lambda q: asked.append(q) or "y",
                                 say=asked.append, what="my device's jobs")
    assert asked[0] == "qhil: my device's jobs on priced: up to the budget (unlimited shots, " \
                       "$2.00, unlimited jobs)" and "[y/N]" in asked[1]
    assert dispatcher.budget is budget
    with pytest.raises(UserError, match="nothing was sent"):
        open_dispatcher(profile, None, budget, ask=lambda q: "n", say=lambda line: None)


def test_an_agreement_opens_only_the_providers_it_was_made_for(tmp_path):
    agreed = agree(["local", chaos_profile(tmp_path, "priced")], None, qhil.Budget(usd=1),
                   yes=True, say=lambda line: None)
    with open_dispatcher("local", agreement=agreed).provider:
        pass
    with pytest.raises(ConfigError, match="not local-noisy"):
        open_dispatcher("local-noisy", agreement=agreed)
