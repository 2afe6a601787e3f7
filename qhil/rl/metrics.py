"""metrics.jsonl rows of a training run as one typed record, and the one logger that writes them.

    MetricsRow(step=240, episodic_return=-1200.0, episodic_length=200)    an episode's row
    MetricsRow(step=240, eval_return_mean=..., eval_return_std=...)        an evaluation's row
    MetricsLogger(session, progress).log()    the periodic row (with the episodes and evaluations
                                              due), to metrics.jsonl and every attached sink

A row is written with its JSON names (`charts/SPS`, `hw/jobs`, `losses/qf1_loss`, ...: the keys
of metrics.jsonl, metrics.csv and the TensorBoard tags, which users and scripts read) and only the
fields it was given: an episode row has three keys, as before. Every name is declared
(`extra="forbid"`): the learner's losses and fidelity figures are validated by their JSON names.
Job, shot and dollar figures (`hw/jobs`, `hw/shots`, `hw/cost_usd`) are the run's ledger's.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from qhil.rl.loop import Progress
from qhil.rl.progress import ProgressUpdate
from qhil.rl.sampler import HardwareStats
from qhil.rl.summary import HardwareSummary

if TYPE_CHECKING:
    from qhil.execution.dispatcher import Dispatcher


def _m(alias: str) -> Any:
    return Field(None, alias=alias)


class MetricsRow(BaseModel):
    """One metrics.jsonl row: `step`, and the figures the row carries (unset ones are left out)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    step: int
    # an episode's end (the explorer's)
    episodic_return: float | None = _m("charts/episodic_return")
    episodic_length: int | None = _m("charts/episodic_length")
    # an evaluation's
    eval_return_mean: float | None = _m("eval/return_mean")
    eval_return_std: float | None = _m("eval/return_std")
    # the periodic row: pace
    updates: int | None = None
    wall_s: float | None = _m("time/wall_s")
    steps_per_s: float | None = _m("charts/SPS")
    updates_per_s: float | None = _m("charts/updates_per_s")
    # hardware: the run's ledger(s); latency and jobs in flight: the explorer's sampler
    jobs: int | None = _m("hw/jobs")
    shots: int | None = _m("hw/shots")
    cost_usd: float | None = _m("hw/cost_usd")
    latency_s: float | None = _m("hw/latency_s")  # mean round trip of the jobs since the last row
    jobs_in_flight: int | None = _m("hw/jobs_in_flight")
    learner_wait_fraction: float | None = _m("loop/learner_wait_fraction")
    env_wait_fraction: float | None = _m("loop/env_wait_fraction")
    qpu_idle_fraction: float | None = _m("loop/qpu_idle_fraction")
    learner_jobs: int | None = _m("hw/learner_jobs")  # the learner's own requests
    learner_circuits: int | None = _m("hw/learner_circuits")
    learner_shots: int | None = _m("hw/learner_shots")
    learner_busy_s: float | None = _m("hw/learner_busy_s")
    policy_lag: int | None = _m("loop/policy_lag")
    # the learner's last update (qhil.rl.td3.TD3.update) and fidelity check (qhil.rl.fidelity)
    qf1_loss: float | None = _m("losses/qf1_loss")
    qf2_loss: float | None = _m("losses/qf2_loss")
    qf1_values: float | None = _m("losses/qf1_values")
    surrogate_loss: float | None = _m("surrogate/loss")
    actor_loss: float | None = _m("losses/actor_loss")
    grad_cosine: float | None = _m("surrogate/grad_cosine")
    grad_rel_error: float | None = _m("surrogate/grad_rel_error")
    jacobian_cosine: float | None = _m("surrogate/jacobian_cosine")
    jacobian_rel_error: float | None = _m("surrogate/jacobian_rel_error")
    pqc_grad_cosine: float | None = _m("surrogate/pqc_grad_cosine")

    def to_json(self) -> dict[str, Any]:
        """The row as metrics.jsonl holds it: JSON names, only the fields given."""
        return self.model_dump(by_alias=True, exclude_unset=True)


Sink = Callable[[list[dict[str, Any]]], None]  # a batch of rows, as metrics.jsonl holds them


class MetricsLogger:
    """The one writer of a run's metrics rows (metrics.jsonl and any extra sink's), and the
    progress callback.

    `sinks` receive every batch of rows (JSON form); metrics.jsonl is the first. A TensorBoard or
    CSV writer attaches with `logger.sinks.append(fn)`; it runs on the learner's thread."""

    def __init__(self, s: Any, progress: Progress | None):
        """`s`: the run's session (qhil.rl.run.Session, or the distributed run's)."""
        self.s = s
        self.progress = progress
        self.sinks: list[Sink] = [s.folder.append_metrics]
        # the hw figures of each row: the run's ledger (qhil.distributed sums its explorers')
        self.figures: Callable[[], HardwareSummary] = lambda: ledger_totals(s.dispatcher)
        self.spent: HardwareSummary | None = None  # the ledger's, at the last row
        self.last_progress = 0.0
        self.returns: deque[float] = deque(maxlen=10)
        self.last = (time.perf_counter(), s.explorer.transitions, s.learner.updates,
                     len(s.sampler.stats.latencies_s))

    def write(self, rows: list[MetricsRow]) -> None:
        """Rows to metrics.jsonl and every sink."""
        if not rows:
            return
        data = [row.to_json() for row in rows]
        for sink in self.sinks:
            sink(data)

    def log(self) -> None:
        """The episodes ended and evaluations done since the last row, then the periodic row."""
        s = self.s
        episodes = s.explorer.drain_episodes()
        self.returns.extend(r for _, r, _ in episodes)
        rows = [MetricsRow(step=st, episodic_return=r, episodic_length=n) for st, r, n in episodes]
        rows += s.evaluations.take_rows()
        rows.append(self.row())
        self.write(rows)
        self.tick(force=True)

    def row(self) -> MetricsRow:
        s, now = self.s, time.perf_counter()
        stats, clock = s.sampler.stats, s.clock.state()
        then, step, updates, seen = self.last
        dt = max(now - then, 1e-9)
        new_lat = stats.latencies_s[seen:]
        self.spent = hw = self.figures()
        learner = s.learner_sampler.stats
        row = MetricsRow(
            step=s.explorer.transitions, updates=s.learner.updates, wall_s=clock["wall_s"],
            steps_per_s=(s.explorer.transitions - step) / dt,
            updates_per_s=(s.learner.updates - updates) / dt,
            jobs=hw.jobs, shots=hw.shots, cost_usd=hw.cost_usd,
            latency_s=float(np.mean(new_lat)) if new_lat else None,
            jobs_in_flight=s.sampler.in_flight, **fractions(clock, stats).model_dump(),
            learner_jobs=learner.jobs, learner_circuits=learner.circuits,
            learner_shots=learner.shots, learner_busy_s=learner.busy_s,
            policy_lag=s.learner.updates - s.explorer.policy_version, **s.learner.last)
        self.last = (now, s.explorer.transitions, s.learner.updates, len(stats.latencies_s))
        return row

    def tick(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.progress is None or (not force and now - self.last_progress < 0.5):
            return
        self.last_progress = now
        s = self.s
        spent = self.spent = self.spent or self.figures()
        self.progress(ProgressUpdate(
            step=s.explorer.transitions, steps=s.config.steps, updates=s.learner.updates,
            wall_s=s.clock.state()["wall_s"],
            recent_return=float(np.mean(self.returns)) if self.returns else None,
            shots=spent.shots, cost_usd=spent.cost_usd or 0.0, jobs_in_flight=s.sampler.in_flight,
            warning=s.learner.fidelity_log.warning()))


def ledger_totals(dispatcher: Dispatcher) -> HardwareSummary:
    """The run's jobs, circuits, shots and dollars as its ledger counts them (every purpose,
    every session)."""
    totals = dispatcher.ledger.totals(dispatcher.provider.name)
    return HardwareSummary(jobs=totals.jobs, circuits=totals.circuits, shots=totals.shots,
                           cost_usd=float(totals.cost_usd))


def ledger_hw(dispatcher: Dispatcher) -> HardwareSummary:
    """The summary's `hw`: the ledger's totals (dollars to 6 places) and round-trip latency."""
    totals = ledger_totals(dispatcher)
    latency = dispatcher.ledger.latency_stats(dispatcher.provider.name).round_trip_s
    return totals.model_copy(update={"cost_usd": round(totals.cost_usd or 0.0, 6),
                                     "latency_p50_s": latency.p50, "latency_p95_s": latency.p95})


class Fractions(BaseModel):
    """Learner wait (1 - busy share of the learning phase), env wait and QPU idle (whole run)."""

    model_config = ConfigDict(frozen=True)

    learner_wait_fraction: float | None
    env_wait_fraction: float
    qpu_idle_fraction: float


def fractions(clock: dict[str, float], stats: HardwareStats) -> Fractions:
    wall = max(clock["wall_s"], 1e-9)
    learn = clock["learn_wall_s"]
    busy = clock.get("learner_busy_s", 0.0)
    return Fractions(learner_wait_fraction=max(0.0, 1 - busy / learn) if learn > 0 else None,
                     env_wait_fraction=min(1.0, clock["env_wait_s"] / wall),
                     qpu_idle_fraction=max(0.0, 1.0 - stats.busy_s / wall))
