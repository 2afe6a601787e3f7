"""Distributed hDQNN-TD3 on Ray Core: N explorer actors feeding the one learner of the run.

    qhil train --config X --explorers N --out DIR      or [distributed] explorers = N

The driver holds the learner, the run folder's journal, checkpoints and summary (the
single-process code of qhil.rl, reused); each explorer actor (explorer.py) owns its environments,
its provider and Dispatcher with `ledger-explorer-K.sqlite` and `transitions-explorer-K.sqlite`,
and steps with the newest actor weights it has been sent (fleet.py; the policy lag optionally
bounded by `[distributed] max_policy_lag`, loop.py). Evaluations, periodic and final, run on
their own actor with `ledger-eval.sqlite` (evaluator.py); the driver journals them. One budget, held by a small
actor (budget.py), is reserved atomically by every Dispatcher of the run. Ray is imported only here
(and by qhil.sweep); without it `qhil train --explorers N` exits 2 naming qhil[ray].
"""
