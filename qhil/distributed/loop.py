"""The distributed loop: the single-process `Loop`'s learner side, fed by explorer actors.

Per pass: take the steps explorers have finished (journal them in the run's journal, store them
in the replay and qtDNN buffers, note each step's policy lag), ask each idle explorer for its next
step, one learner update when the pacing allows (`Loop.update_cap_left`), publish the actor every
`loop.max_policy_lag` updates, then the scheduled callbacks (metrics, checkpoints, evaluations).
The driver's `Explorer` is the learner's record of what arrived (counters, episodes); it never
steps. Policy lag: learner updates when a step reaches the learner minus the version it acted with;
reported per explorer and for the run (p50 / p95 / max) in the summary. Unbounded by default (the
updates made while an explorer's queued calls run add to `loop.max_policy_lag`); with
`[distributed] max_policy_lag = B` every call carries the newest actor and the learner does not
update while an update would put a call in flight more than B behind (a step already bought is
never thrown away, so the bound is held on the learner's side): every step's lag is <= B.
"""

from __future__ import annotations

import contextlib

import numpy as np

from qhil.distributed.explorer import StepBatch
from qhil.distributed.fleet import DEPTH, Fleet
from qhil.rl.loop import Loop

IDLE_WAIT_S = 0.02  # how long the learner waits for a step when it has no update to do


class DistributedLoop(Loop):
    """`Loop` with `run()` replaced: the explorer thread becomes N explorer actors."""

    def __init__(self, *args, fleet: Fleet):
        super().__init__(*args)
        self.fleet = fleet
        self.lags: list[list[int]] = [[] for _ in fleet.handles]

    def run(self) -> None:
        try:
            self._run()
        finally:
            self._take_pending()

    def _take_pending(self) -> None:
        """Steps still on their way when the run stops are stored too (their jobs were paid);
        a failure here gives way to the one that stopped the run."""
        with contextlib.suppress(Exception):
            while self.fleet.pending or self.fleet.held:
                for batch in self.fleet.ready(self.config.loop.job_timeout_s):
                    self.deliver(batch)

    def _run(self) -> None:
        while self.explorer.transitions < self.config.steps or self.fleet.pending:
            self._launch_idle()
            can_learn = self.update_cap_left() > 0 and self.within_lag_bound()
            for batch in self.fleet.ready(0 if can_learn else IDLE_WAIT_S):
                self.deliver(batch)
            self._start_learning_clock()
            if self.update_cap_left() > 0 and self.within_lag_bound():
                self.learn_step()
            if self.learner.updates - self.published >= self.config.loop.max_policy_lag:
                self.publish_policy()
            self.fire_callbacks()
        self.catch_up()

    def within_lag_bound(self) -> bool:
        """One more update keeps every call in flight within `[distributed] max_policy_lag`."""
        bound, oldest = self.config.distributed.max_policy_lag, self.fleet.oldest_version()
        return bound is None or oldest is None or self.learner.updates + 1 - oldest <= bound

    def _launch_idle(self) -> None:
        """Keep each explorer's queue full while the run still needs steps (each call carrying
        the newest actor when the policy lag is bounded)."""
        idle = [k for k in range(len(self.fleet.handles)) if self.fleet.queued(k) < DEPTH]
        wanted = idle and self._steps_coming() < self.config.steps
        if wanted and self.config.distributed.max_policy_lag is not None and self.learning():
            self.publish_policy()
        for k in idle:
            while self.fleet.queued(k) < DEPTH and self._steps_coming() < self.config.steps:
                self.fleet.launch(k)

    def _steps_coming(self) -> int:
        return self.explorer.transitions + len(self.fleet.pending) * self.config.num_envs

    def publish_policy(self) -> None:
        super().publish_policy()
        if self.explorer.policy_version != self.fleet.version:
            self.fleet.publish(self.explorer.actor, self.explorer.policy_version)

    def deliver(self, batch: StepBatch) -> None:
        """An explorer's steps into the run's journal and buffers, as `Explorer.step` stores its own."""
        e, pqc = self.explorer, self.config.block == "pqc"
        width = self.config.num_envs
        for i, finished in enumerate(batch.episodes):
            rows = {k: v[i * width:(i + 1) * width] for k, v in batch.rows.items()}
            ended = [(e.transitions + width, ret, n) for _, ret, n in finished]
            e.journal.append(e.vsteps, rows, ended)
            e.replay.add(**rows)
            if pqc:
                e.pairs.add(q_in=rows["q_in"], q_out=rows["q_out"])
            with e.lock:
                e.transitions, e.vsteps = e.transitions + width, e.vsteps + 1
                e.episodes.extend(ended)
            self.lags[batch.explorer].append(self.learner.updates - max(batch.version, 0))
        taken = batch.start + len(batch.episodes)  # noted after the steps: a kill in between
        e.journal.note(taken_key(batch.explorer), str(taken))  # repeats them, never loses them


def taken_key(k: int) -> str:
    """The run journal's note of how many of explorer k's steps it holds."""
    return f"explorer-{k}-steps"


def lag_figures(lags: list[int]) -> dict[str, float | None]:
    """p50, p95 and max of the policy lags (learner updates) of one explorer's steps."""
    if not lags:
        return {"policy_lag_p50": None, "policy_lag_p95": None, "policy_lag_max": None}
    return {"policy_lag_p50": float(np.percentile(lags, 50)),
            "policy_lag_p95": float(np.percentile(lags, 95)),
            "policy_lag_max": float(max(lags))}


