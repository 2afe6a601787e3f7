"""The driver's handle on the explorer actors: up to `DEPTH` `collect` calls queued per explorer
(so it steps on while the learner takes the last one), each carrying the newest published policy; Ray restarts a killed worker (`max_restarts`) and retries
the call (`max_task_retries`), which `collect` makes safe.

    fleet = Fleet.start(config, run_dir, providers, budget, delivered)
    fleet.publish(actor, version)        the policy every later call carries
    fleet.launch(k)                      ask explorer k for its next step
    for batch in fleet.ready(timeout_s): ...
"""

from __future__ import annotations

from pathlib import Path

from qhil.distributed.explorer import ExplorerWorker, StepBatch
from qhil.errors import BudgetExceededError, RunInterruptedError

MAX_RESTARTS = 5  # per explorer, over the run
CPUS_PER_EXPLORER = 0.25  # fractional: a worker mostly waits on its provider
DEPTH = 2  # calls queued per explorer


def explorer_cpus(explorers: int) -> float:
    """CPUs each explorer asks Ray for: CPUS_PER_EXPLORER, less when N of them would not fit
    in half the cluster (actors that cannot be placed would wait forever, silently)."""
    import ray

    return min(CPUS_PER_EXPLORER, ray.cluster_resources().get("CPU", 1.0) / (2 * explorers))


class Fleet:
    """N explorer actors and their progress as the learner has received it."""

    def __init__(self, handles: list, delivered: list[int]):
        self.handles, self.delivered = handles, delivered
        self.asked = list(delivered)  # the next step each explorer will be asked for
        self.pending: dict = {}  # ObjectRef -> explorer index
        self.carried: dict = {}  # ObjectRef -> the policy version the call carries
        self.policy, self.version = None, -1

    @classmethod
    def start(cls, config, run_dir: Path, providers: list[str], budget,
              delivered: list[int]) -> Fleet:
        import ray

        remote = ray.remote(num_cpus=explorer_cpus(len(providers)), max_restarts=MAX_RESTARTS,
                            max_task_retries=MAX_RESTARTS)(ExplorerWorker)
        data = config.model_dump()
        handles = [remote.remote(data, str(run_dir), k, name, budget)
                   for k, name in enumerate(providers)]
        return cls(handles, delivered)

    def publish(self, actor, version: int) -> None:
        import ray

        self.policy, self.version = ray.put(actor), version

    def queued(self, k: int) -> int:
        return sum(1 for j in self.pending.values() if j == k)

    def launch(self, k: int) -> None:
        ref = self.handles[k].collect.remote(self.asked[k], 1, self.policy, self.version)
        self.pending[ref], self.carried[ref] = k, max(self.version, 0)
        self.asked[k] += 1

    def oldest_version(self) -> int | None:
        """The oldest policy a call in flight may act with (it acts with the one it carries or
        a newer one its explorer already has); None when no call is in flight."""
        return min(self.carried.values(), default=None)

    def ready(self, timeout_s: float) -> list[StepBatch]:
        """The calls finished within `timeout_s`, in step order; their explorers are free again
        (one actor runs its calls in the order they were sent)."""
        import ray

        if not self.pending:
            return []
        done, _ = ray.wait(list(self.pending), num_returns=len(self.pending), timeout=timeout_s)
        batches = sorted((self._get(ref) for ref in done), key=lambda b: (b.explorer, b.start))
        for batch in batches:
            self.delivered[batch.explorer] += len(batch.episodes)
        return batches

    def _get(self, ref) -> StepBatch:
        """A call's batch; a budget refusal is re-raised as itself, a worker that died more often
        than `max_restarts` stops the run."""
        import ray

        k = self.pending.pop(ref)
        self.carried.pop(ref, None)
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, BudgetExceededError):
                raise exc.cause from None
            raise
        except ray.exceptions.RayActorError as exc:
            raise RunInterruptedError(f"explorer {k} died more than {MAX_RESTARTS} times "
                                      f"({type(exc).__name__})") from exc

    def close(self) -> None:
        import ray

        closing = [h.close.remote() for h in self.handles]
        ray.wait(closing, num_returns=len(closing), timeout=30)
        for handle in self.handles:
            ray.kill(handle, no_restart=True)
