"""The driver's handle on the explorer actors: up to `DEPTH` `collect` calls queued per explorer
(so it steps on while the learner takes the last one), each carrying the newest published policy; Ray restarts a killed worker (`max_restarts`) and retries
the call (`max_task_retries`), which `collect` makes safe.

    fleet = Fleet.start(config, run_dir, providers, budget, delivered)
    fleet.publish(actor, version)        the policy every later call carries
    fleet.launch(k)                      ask explorer k for its next step
    for batch in fleet.ready(timeout_s): ...

The learner's thread never waits on Ray: a courier thread (`Courier`) waits for finished calls
and fetches their steps, and puts each published policy into Ray's object store; `ready` and
`publish` only hand things over under a lock. (Polling Ray and putting the actor on the
learner's thread took 4% of its time in bench_distributed.)
"""

from __future__ import annotations

import threading
from pathlib import Path

from qhil.distributed.explorer import ExplorerWorker, StepBatch
from qhil.errors import BudgetExceededError, RunInterruptedError

MAX_RESTARTS = 5  # per explorer, over the run
CPUS_PER_EXPLORER = 0.25  # fractional: a worker mostly waits on its provider
DEPTH = 2  # calls queued per explorer
WAIT_S = 0.05  # the courier's longest wait before it looks for new calls or a policy


def explorer_cpus(explorers: int) -> float:
    """CPUs each explorer asks Ray for: CPUS_PER_EXPLORER, less when N of them would not fit
    in half the cluster (actors that cannot be placed would wait forever, silently)."""
    import ray

    return min(CPUS_PER_EXPLORER, ray.cluster_resources().get("CPU", 1.0) / (2 * explorers))


class Fleet:
    """N explorer actors and their progress as the learner has received it."""

    def __init__(self, handles: list, delivered: list[int], *, put_now: bool = False):
        """`put_now`: a published policy is in Ray before `publish` returns (a bounded policy
        lag needs the next call to carry it); otherwise the courier puts it."""
        self.handles, self.delivered, self.put_now = handles, delivered, put_now
        self.asked = list(delivered)  # the next step each explorer will be asked for
        self.pending: dict = {}  # ObjectRef -> explorer index
        self.carried: dict = {}  # ObjectRef -> the policy version the call carries
        self.policy, self.version = None, -1
        self.held: list[tuple[int, StepBatch]] = []  # fetched, kept back by a failed call
        self.courier = Courier(self)

    @classmethod
    def start(cls, config, run_dir: Path, providers: list[str], budget,
              delivered: list[int]) -> Fleet:
        import ray

        remote = ray.remote(num_cpus=explorer_cpus(len(providers)), max_restarts=MAX_RESTARTS,
                            max_task_retries=MAX_RESTARTS)(ExplorerWorker)
        data = config.model_dump()
        handles = [remote.remote(data, str(run_dir), k, name, budget)
                   for k, name in enumerate(providers)]
        return cls(handles, delivered, put_now=config.distributed.max_policy_lag is not None)

    def publish(self, actor, version: int) -> None:
        if self.put_now or self.policy is None:  # the first calls need one to act with
            import ray

            with self.courier.lock:
                self.policy, self.version = ray.put(actor), version
            return
        self.courier.carry(actor, version)

    def queued(self, k: int) -> int:
        return sum(1 for j in self.pending.values() if j == k)

    def launch(self, k: int) -> None:
        with self.courier.lock:
            ref = self.handles[k].collect.remote(self.asked[k], 1, self.policy, self.version)
            self.pending[ref], self.carried[ref] = k, max(self.version, 0)
            self.courier.wake()
        self.asked[k] += 1

    def oldest_version(self) -> int | None:
        """The oldest policy a call in flight may act with (it acts with the one it carries or
        a newer one its explorer already has); None when no call is in flight."""
        return min(self.carried.values(), default=None)

    def ready(self, timeout_s: float) -> list[StepBatch]:
        """The calls finished within `timeout_s`, in step order; their explorers are free again
        (one actor runs its calls in the order they were sent). A call that failed is raised
        (the others' steps are kept for the next call: `held`)."""
        if not self.pending and not self.held:
            return []
        taken = self.held + self.courier.arrived(timeout_s if not self.held else 0)
        failed = [(k, out) for k, out in taken if isinstance(out, BaseException)]
        self.held = [(k, out) for k, out in taken if not isinstance(out, BaseException)]
        if failed:
            raise_failure(*failed[0])
        batches = sorted((b for _, b in self.held), key=lambda b: (b.explorer, b.start))
        self.held = []
        for batch in batches:
            self.delivered[batch.explorer] += len(batch.episodes)
        return batches

    def close(self) -> None:
        import ray

        self.courier.stop()
        closing = [h.close.remote() for h in self.handles]
        ray.wait(closing, num_returns=len(closing), timeout=30)
        for handle in self.handles:
            ray.kill(handle, no_restart=True)


def raise_failure(k: int, exc: BaseException) -> None:
    """A failed call: a budget refusal is re-raised as itself, a worker that died more often
    than `max_restarts` stops the run."""
    import ray

    if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(exc.cause, BudgetExceededError):
        raise exc.cause from None
    if isinstance(exc, ray.exceptions.RayActorError):
        raise RunInterruptedError(f"explorer {k} died more than {MAX_RESTARTS} times "
                                  f"({type(exc).__name__})") from exc
    raise exc


class Courier:
    """The fleet's thread that talks to Ray for the learner: waits for finished calls, fetches
    their steps (or the error they ended with) and puts published policies."""

    def __init__(self, fleet: Fleet):
        self.fleet, self.lock = fleet, threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.done: dict = {}  # ObjectRef -> StepBatch or the exception its call raised
        self.policy: tuple | None = None  # (actor, version) to put
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="qhil-courier", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        """(Under the lock.) Something new to wait for or to put."""
        self.changed.notify_all()

    def carry(self, actor, version: int) -> None:
        with self.lock:
            self.policy = (actor, version)
            self.wake()

    def arrived(self, timeout_s: float) -> list[tuple]:
        """(explorer, batch or exception) of the calls fetched so far, waiting up to
        `timeout_s` for one; taken out of the fleet's calls in flight."""
        with self.lock:
            if not self.done and timeout_s > 0:
                self.changed.wait(timeout_s)
            taken, self.done = list(self.done.items()), {}
            for ref, _ in taken:
                self.fleet.carried.pop(ref, None)
            return [(self.fleet.pending.pop(ref), outcome) for ref, outcome in taken]

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            self.wake()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self.lock:
                if self.stopped:
                    return
                waiting = [r for r in self.fleet.pending if r not in self.done]
                policy, self.policy = self.policy, None
                if not waiting and policy is None:
                    self.changed.wait(WAIT_S)
                    continue
            if policy is not None:
                self._put(*policy)
            if waiting:
                self._fetch(waiting)

    def _put(self, actor, version: int) -> None:
        import ray

        ref = ray.put(actor)
        with self.lock:
            if version > self.fleet.version:
                self.fleet.policy, self.fleet.version = ref, version

    def _fetch(self, waiting: list) -> None:
        """The calls among `waiting` that finish within WAIT_S, fetched."""
        import ray

        finished, _ = ray.wait(waiting, num_returns=1, timeout=WAIT_S)
        if finished:  # and every other one already finished
            finished, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
        fetched = {ref: self._get(ref) for ref in finished}
        if fetched:
            with self.lock:
                self.done.update(fetched)
                self.wake()

    @staticmethod
    def _get(ref):
        import ray

        try:
            return ray.get(ref)
        except Exception as exc:  # handed to the learner's thread, which raises it
            return exc
