"""A distributed run's evaluations on their own Ray actor, so the learner's process never runs
their episodes: the driver still names, journals and schedules each evaluation (qhil.rl.
evaluations: the actor stored before it runs, its returns after, so a restart re-runs an
interrupted one from the same actor), and the actor runs the episodes on the run's provider with
its own Dispatcher and ledger (`ledger-eval.sqlite`), on the run's one shared budget.

    worker = start_evaluator(config, run_dir, budget)
    s.evaluations = RemoteEvaluations(config, dispatcher, ansatz, journal, worker)

An evaluation's requests depend only on its name and actor (its sampler is seeded by the name),
so when Ray restarts a killed evaluation actor and retries the call, its jobs are asked again
identically and its Dispatcher re-attaches or reuses them from its ledger: nothing bought twice.
"""

from __future__ import annotations

from pathlib import Path

import torch

from qhil.distributed.fleet import MAX_RESTARTS, explorer_cpus
from qhil.distributed.spending import EVAL_LEDGER, open_explorer_dispatcher
from qhil.errors import QhilError
from qhil.execution.registry import get_provider
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.rl.config import TrainConfig
from qhil.rl.evaluations import Evaluations


class EvaluationWorker:
    """What the evaluation actor runs (ray.remote is applied by `start_evaluator`)."""

    def __init__(self, config_data: dict, run_dir: str, budget):
        torch.set_num_threads(1)
        config = TrainConfig(**config_data)
        q = config.quantum
        self.provider = get_provider(config.provider)
        self.dispatcher = open_explorer_dispatcher(Path(run_dir) / EVAL_LEDGER, self.provider,
                                                   budget)
        ansatz = HDQNNAnsatz(q.qubits, q.layers, q.entangler)
        self.evaluations = Evaluations(config, self.dispatcher, ansatz, None)
        self.timeout_s = config.loop.job_timeout_s

    def episodes(self, name: str, actor) -> tuple[list[float], list[float]]:
        """Evaluation `name` of `actor`: its returns and its jobs' latencies."""
        self.evaluations.latencies_s = []
        return self.evaluations.episodes(name, actor), self.evaluations.latencies_s

    def close(self) -> None:
        self.dispatcher.drain(self.timeout_s)  # re-attached jobs nobody asked for again
        self.dispatcher.ledger.close()
        self.provider.close()


def start_evaluator(config: TrainConfig, run_dir: Path, budget):
    """The run's evaluation actor (restarted by Ray when its worker dies)."""
    import ray

    remote = ray.remote(num_cpus=explorer_cpus(config.distributed.explorers),
                        max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS)(EvaluationWorker)
    return remote.remote(config.model_dump(), str(run_dir), budget)


def stop_evaluator(worker) -> None:
    """Drain and close the actor's Dispatcher, then end it."""
    import ray

    ray.wait([worker.close.remote()], timeout=30)
    ray.kill(worker, no_restart=True)


class RemoteEvaluations(Evaluations):
    """`Evaluations` whose episodes run on the evaluation actor; the scheduled ones still queue
    on the driver's evaluation thread, which only waits for the actor."""

    def __init__(self, *args, worker):
        super().__init__(*args)
        self.worker = worker

    def episodes(self, name: str, actor, show_progress: bool = False) -> list[float]:
        import ray

        try:
            returns, latencies_s = ray.get(self.worker.episodes.remote(name, actor))
        except ray.exceptions.RayTaskError as exc:  # a budget refusal, a provider error: itself
            if isinstance(exc.cause, QhilError):
                raise exc.cause from None
            raise
        self.latencies_s.extend(latencies_s)
        return returns
