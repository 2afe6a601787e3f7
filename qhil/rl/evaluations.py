"""Evaluations of a training run: scheduled ones in a background worker, the final one at the end.

Each evaluation has a name (`step-5000`, `final-10000`) and its own sampler, seeded by the name:
its requests depend only on its actor, so it is repeatable. Its actor is stored in the journal
before it runs and its returns after, so an evaluation a kill interrupted runs again from the same
actor after the restart, and asks for the same jobs: the Dispatcher reuses those the ledger holds.
Scheduled evaluations queue (never skipped), so every one the cost model counts takes place.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from qhil.execution.dispatcher import Dispatcher
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.rl.config import TrainConfig
from qhil.rl.explorer import evaluate
from qhil.rl.journal import Journal
from qhil.rl.metrics import MetricsRow
from qhil.rl.sampler import HardwareSampler
from qhil.rl.schedule import Schedule
from qhil.threads import ThreadPlan, use_threads

EVAL_SEED_OFFSET = 10_000  # evaluation episodes reset from seed + this, apart from training's


def eval_seed(config: TrainConfig) -> int:
    """The reset seed of every evaluation of a run (the same episodes each time)."""
    return config.seed + EVAL_SEED_OFFSET


class Evaluations:
    """Runs and journals a run's evaluations; their metrics rows wait for `take_rows`."""

    def __init__(self, config: TrainConfig, dispatcher: Dispatcher, ansatz: HDQNNAnsatz,
                 journal: Journal | None):
        """`journal` None: `episodes` only (an evaluation actor; its driver journals)."""
        self.config, self.dispatcher, self.ansatz, self.journal = config, dispatcher, ansatz, journal
        self.rows: list[MetricsRow] = []
        self._rows_lock = threading.Lock()  # the worker appends, the metrics logger takes
        self.latencies_s: list[float] = []  # of every evaluation job this session sent
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def sampler(self, name: str) -> HardwareSampler:
        digest = hashlib.sha256(f"{self.config.seed}:{name}".encode()).digest()
        return HardwareSampler(self.dispatcher, self.ansatz, self.config.quantum.shots,
                               int.from_bytes(digest[:4], "little") % 2**31,
                               self.config.loop.job_timeout_s)

    def run(self, name: str, actor, show_progress: bool = False) -> list[float]:
        """Evaluate `actor` as `name` (or the actor a killed run stored under that name)."""
        self.journal.begin_eval(name, actor.state_dict())
        stored = self.journal.eval_returns(name)
        if stored is not None:
            return stored
        actor.load_state_dict(self.journal.eval_actor(name))
        returns = self.episodes(name, actor, show_progress)
        self.journal.finish_eval(name, returns)
        return returns

    def episodes(self, name: str, actor, show_progress: bool = False) -> list[float]:
        """The evaluation's episodes on the provider, unjournaled: their returns (a distributed
        run sends this part to its evaluation actor, qhil.distributed.evaluator)."""
        sampler = self.sampler(name)
        returns = evaluate(self.config, actor, sampler, self.config.eval.episodes,
                           eval_seed(self.config), show_progress=show_progress)
        self.latencies_s.extend(sampler.stats.latencies_s)
        return returns

    def now(self, name: str, actor) -> list[float]:
        """An evaluation on its own thread (never the learner's), waited for, with progress."""
        with ThreadPoolExecutor(1, thread_name_prefix="qhil-eval") as pool:
            return pool.submit(self.run, name, actor, True).result()

    def schedule(self, step: int, actor) -> None:
        """Queue evaluation `step-<step>` in the background worker."""
        self._queue.put((f"step-{step}", step, actor))
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="qhil-eval", daemon=True)
            self._thread.start()

    def reopen(self, transitions: int, actor_factory) -> None:
        """After a restart: evaluations a kill interrupted (from their stored actors), and any
        scheduled one the kill came before (from the restored actor)."""
        names = [n for n in self.journal.open_evals() if n.startswith("step-")]
        known = set(self.journal.eval_names())
        names += [f"step-{k}" for k in Schedule.of(self.config).evaluation_steps()
                  if k <= transitions and f"step-{k}" not in known]
        for name in sorted(set(names), key=lambda n: int(n.split("-")[1])):
            self.schedule(int(name.split("-")[1]), actor_factory())

    def add_row(self, step: int, returns: list[float]) -> None:
        """The metrics row of an evaluation's returns (null figures when it ran no episode)."""
        row = MetricsRow(step=step, eval_return_mean=float(np.mean(returns)) if returns else None,
                         eval_return_std=float(np.std(returns)) if returns else None)
        with self._rows_lock:
            self.rows.append(row)

    def take_rows(self) -> list[MetricsRow]:
        """The rows of the evaluations finished since the last call."""
        with self._rows_lock:
            rows, self.rows = self.rows, []
        return rows

    def join(self) -> None:
        """Wait for every queued evaluation; re-raise what failed in the worker."""
        self._queue.join()
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        use_threads(ThreadPlan.evaluation)  # beside the learner, which leaves it a core
        while True:
            name, step, actor = self._queue.get()
            try:
                if self.error is None:
                    self.add_row(step, self.run(name, actor))
            except BaseException as exc:  # handed to the thread that joins
                self.error = exc
            finally:
                self._queue.task_done()
