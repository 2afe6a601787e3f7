"""The hDQNN-TD3 training loop.

Per vector step (see `sync_loop`, which reads top to bottom):
    1. act              PreDNN(s) -> q_i                                   (Explorer.step)
    2. hardware sample  one job carrying every environment's circuit -> q_o
    3. store            (s, a, r, s', done, q_i, q_o) into the replay and qtDNN buffers
    4. surrogate refit  qtDNN on N_qt tiny batches of the minibatch        (Learner.update)
    5. critic update    TD target from the surrogate target actor
    6. actor update     through the qtDNN, every policy_delay updates
    7. callbacks        scheduled: metrics rows, checkpoints, evaluations (`Every`)

`async_loop` runs 1-3 in an explorer thread and 4-6 in the calling (learner) thread, so the
learner keeps updating while a job sits in a queue. Pacing: the learner holds `updates_per_step`
updates per vector step (it waits for data when ahead; `learner_pace = "free"` lets it run up to
`max_updates_per_transition` updates per transition instead); the explorer waits when the learner
falls `max_policy_lag` updates behind, and its actor is refreshed every `max_policy_lag` updates.
Updates still owed when exploration ends run then (`LoopClock.catch_up_updates` counts them).

Threads (`thread_plan`): the learner's torch ops take the cores the explorer thread and periodic
evaluations leave (qhil.threads), so a run never asks for more cores than it may use.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from qhil.errors import BudgetExceededError, RunInterruptedError
from qhil.rl.config import TrainConfig
from qhil.rl.explorer import Explorer
from qhil.rl.learner import Learner
from qhil.rl.progress import ProgressUpdate
from qhil.rl.schedule import Schedule
from qhil.threads import ThreadPlan, usable_cpus, use_threads

Progress = Callable[[ProgressUpdate], None]
Callback = Callable[[int], None]  # called with the transitions so far, on the learner's thread


class Every:
    """A scheduled callback: `action()` every `steps` transitions and/or every `seconds` of wall
    time, whichever comes first (the checkpoint's cadence); `after` is where the count starts."""

    def __init__(self, action: Callable[[], None], *, steps: int | None = None,
                 seconds: float | None = None, after: int = 0,
                 clock: Callable[[], float] = time.monotonic):
        self.action, self.steps, self.seconds, self.clock = action, steps, seconds, clock
        self.next_step = (after // steps + 1) * steps if steps else None
        self.last_s = clock()

    def due(self, transitions: int) -> bool:
        by_steps = self.next_step is not None and transitions >= self.next_step
        return by_steps or (self.seconds is not None and self.clock() - self.last_s >= self.seconds)

    def __call__(self, transitions: int) -> None:
        if not self.due(transitions):
            return
        self.action()
        if self.steps:
            self.next_step = (transitions // self.steps + 1) * self.steps
        self.last_s = self.clock()


@dataclass
class LoopClock:
    """Wall time and waiting, accumulated over (resumed) sessions."""

    wall_s: float = 0.0
    learn_wall_s: float = 0.0
    learner_wait_s: float = 0.0
    learner_busy_s: float = 0.0
    env_wait_s: float = 0.0
    catch_up_updates: float = 0.0  # updates run after the explorer's last step (learner behind)
    started: float = field(default_factory=time.perf_counter)
    learn_started: float | None = None

    def tick(self) -> None:
        now = time.perf_counter()
        self.wall_s += now - self.started
        if self.learn_started is not None:
            self.learn_wall_s += now - self.learn_started
            self.learn_started = now
        self.started = now

    def state(self) -> dict[str, float]:
        self.tick()
        return {"wall_s": self.wall_s, "learn_wall_s": self.learn_wall_s,
                "learner_wait_s": self.learner_wait_s, "learner_busy_s": self.learner_busy_s,
                "env_wait_s": self.env_wait_s, "catch_up_updates": self.catch_up_updates}


class Loop:
    """Couples one Explorer and one Learner under the config's pacing rules."""

    def __init__(self, config: TrainConfig, explorer: Explorer, learner: Learner,
                 callbacks: list[Callback], clock: LoopClock, threads: ThreadPlan | None = None):
        """`callbacks` run in order after every step (sync) or update (async), on the thread
        that owns the learner: metrics rows, checkpoints and evaluations are scheduled there
        (`Every`), and a metrics sink or progress reporter attaches by appending one."""
        self.config, self.explorer, self.learner = config, explorer, learner
        self.threads = threads or thread_plan(config)
        self.callbacks = list(callbacks)
        self.schedule = Schedule.of(config)  # the pacing the cost model counts with
        self.on_tick: Callable[[], None] = lambda: None
        self.clock = clock
        self.cond = threading.Condition()
        self.error: BaseException | None = None
        self.stop = False
        self.published = learner.updates

    # -- pacing ---------------------------------------------------------------------------
    def learning(self) -> bool:
        return self.explorer.transitions >= max(self.config.td3.learning_starts,
                                                self.config.td3.batch_size)

    def updates_due(self) -> int:
        """Updates owed at updates_per_step per vector step since learning started."""
        if not self.learning():
            return 0
        return self.schedule.updates_owed(self.explorer.vsteps) - self.learner.updates

    def update_cap_left(self) -> int:
        """How many more updates the per-transition cap allows now."""
        if not self.learning():
            return 0
        fresh = max(1, self.explorer.transitions - self.config.td3.learning_starts)
        return int(self.config.loop.max_updates_per_transition * fresh) - self.learner.updates

    def may_update(self, exploring: bool) -> bool:
        """Whether the learner updates now: while updates are owed (the ratio), or while the
        explorer runs (free pace); never past the per-transition cap."""
        if self.update_cap_left() <= 0:
            return False
        free = exploring and self.config.loop.learner_pace == "free"
        return free or self.updates_due() > 0

    def publish_policy(self) -> None:
        """Hand the explorer the policy: a fresh immutable copy (nothing is written under its
        forward), or in the sync loop on the CPU the live actor itself, whose forward never
        overlaps an update there (the same values without a 1.6 ms copy every step)."""
        if self.explorer.policy_version == self.learner.updates:
            return
        actor = self.learner.td3.actor
        shared = self.config.loop.mode == "sync" and _on_cpu(actor)
        self.explorer.load_policy(actor if shared else snapshot_actor(actor), self.learner.updates)
        self.published = self.learner.updates

    def fire_callbacks(self) -> None:
        self.on_tick()
        for callback in self.callbacks:
            callback(self.explorer.transitions)

    def _start_learning_clock(self) -> None:
        if self.clock.learn_started is None and self.learning():
            self.clock.learn_started = time.perf_counter()

    # -- synchronous: act, wait for the job, step, update ----------------------------------
    def sync_loop(self) -> None:
        while self.explorer.transitions < self.config.steps:
            self.explore_step()                  # 1-3: act, hardware sample, env step, store
            self._start_learning_clock()
            for _ in range(max(0, self.updates_due())):
                self.learn_step()                # 4-6: surrogate refit, critic, actor
            self.publish_policy()
            self.fire_callbacks()                # 7: metrics, checkpoints, evaluations
        self.catch_up()

    # -- asynchronous: explorer thread + learner here ---------------------------------------
    def async_loop(self) -> None:
        thread = threading.Thread(target=self._explore_forever, name="qhil-explorer", daemon=True)
        thread.start()
        try:
            self._learn_until_done(thread)
        finally:
            with self.cond:
                self.stop = True
                self.cond.notify_all()
            thread.join()

    def _learn_until_done(self, thread: threading.Thread) -> None:
        while self.error is None:
            self._start_learning_clock()
            exploring = thread.is_alive()
            if self.may_update(exploring):
                self.learn_step(caught_up=not exploring)
                if self.learner.updates - self.published >= self.config.loop.max_policy_lag:
                    self.publish_policy()
                with self.cond:
                    self.cond.notify_all()
            elif not exploring:
                break
            else:
                self._learner_wait()
            self.fire_callbacks()

    def catch_up(self) -> None:
        """Updates still owed at the end (a run resumed from an older checkpoint owes some)."""
        while self.updates_due() > 0 and self.update_cap_left() > 0:
            self.learn_step(caught_up=True)
        self.publish_policy()

    def learn_step(self, caught_up: bool = False) -> None:
        """One learner update, timed: busy time over learning wall time is the learner's share;
        `caught_up`: an update owed when exploration had ended."""
        started = time.perf_counter()
        self.learner.update()
        self.clock.learner_busy_s += time.perf_counter() - started
        self.clock.catch_up_updates += caught_up

    def _learner_wait(self) -> None:
        started = time.perf_counter()
        with self.cond:
            self.cond.wait(timeout=0.01)
        if self.clock.learn_started is not None:
            self.clock.learner_wait_s += time.perf_counter() - started

    def _explore_forever(self) -> None:
        use_threads(self.threads.explorer)  # batch-1 nets and circuits; the learner keeps the rest
        try:
            while not self.stop and self.explorer.transitions < self.config.steps:
                self._explorer_wait()
                if self.stop:
                    break
                self.explore_step()
                with self.cond:
                    self.cond.notify_all()
        except BaseException as exc:  # handed to the learner thread, which stops the run
            self.error = exc

    def explore_step(self) -> None:
        """One vector step; the time spent waiting for the hardware counts as env waiting."""
        before = self.explorer.sampler.stats.busy_s
        self.explorer.step()
        self.clock.env_wait_s += self.explorer.sampler.stats.busy_s - before

    def _explorer_wait(self) -> None:
        started = time.perf_counter()
        with self.cond:
            while not self.stop and self.updates_due() > self.config.loop.max_policy_lag:
                self.cond.wait(timeout=0.05)
        self.clock.env_wait_s += time.perf_counter() - started

    def run(self) -> None:
        """Run to config.steps; an explorer failure stops the run and is re-raised."""
        use_threads(self.threads.learner)
        (self.sync_loop if self.config.loop.mode == "sync" else self.async_loop)()
        if self.error is not None:
            raise self.error


def thread_plan(config: TrainConfig) -> ThreadPlan:
    """The learner takes the cores left by the async explorer and periodic evaluations."""
    side = (config.loop.mode == "async") + bool(config.eval.every_steps and config.eval.episodes)
    refit = config.block == "pqc" and config.quantum.gradient == "qtdnn"
    return ThreadPlan.of(usable_cpus(config.loop.cpus), side, config.loop.learner_threads, refit)


def budget_stop_error(exc: BudgetExceededError, run_dir: str, step: int) -> RunInterruptedError:
    return RunInterruptedError(
        f"budget reached at step {step}: {exc}; the run is checkpointed - continue it with "
        f"'qhil train --resume {run_dir}' with a larger --budget-shots/--budget-usd/--budget-jobs")


def _on_cpu(actor) -> bool:
    return all(p.device.type == "cpu" for p in actor.parameters())


def snapshot_actor(actor):
    """An immutable CPU copy of the actor for the explorer and evaluations."""
    copied = copy.deepcopy(actor).to("cpu").eval()
    return copied.requires_grad_(False)
