"""The learner of a distributed run on the cluster's GPU: when Ray has a GPU to give, the
learner's side of the run (run.py's `_train`: the learner, the run's journal, checkpoints,
evaluations' scheduling, the summary) runs in a Ray actor that holds one, with its torch on
cuda; on a cluster without one it stays in the driver's process, on the CPU, as before.

    gpus = learner_gpus(config)                  1 when the cluster has a GPU and loop.device allows
    worker = start_learner(config, run_dir, budget)
    placement = ray.get(worker.placement.remote())   LearnerPlacement(gpu_ids, device, note)
    summary = ray.get(worker.train.remote(resume))

Ray assigns the GPU (it sets CUDA_VISIBLE_DEVICES for the actor); whether torch can use it is
the actor's own check: a GPU Ray assigned that torch cannot see (a CPU-only torch build, no
driver) leaves the learner on the CPU, said in the placement's `note`, which the driver prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qhil.rl.config import TrainConfig


@dataclass(frozen=True)
class LearnerPlacement:
    """Where the learner actor runs: the GPU ids Ray gave it, its torch device, and why the
    device is not the GPU when it was given one ('' otherwise)."""

    gpu_ids: list[str]
    device: str
    note: str = ""


def learner_gpus(config: TrainConfig) -> int:
    """GPUs the learner asks Ray for: 1 when the cluster has one, unless loop.device = "cpu"."""
    import ray

    has_gpu = ray.cluster_resources().get("GPU", 0.0) >= 1
    return int(has_gpu and config.loop.device != "cpu")


def learner_device(gpu_ids: list[str], choice: str) -> LearnerPlacement:
    """The torch device of a learner Ray gave `gpu_ids` (config's loop.device `choice`)."""
    import torch

    if gpu_ids and torch.cuda.is_available():
        return LearnerPlacement(gpu_ids, "cuda")
    if not gpu_ids:
        return LearnerPlacement([], "cpu")
    build = f"torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}"
    note = (f"Ray gave the learner GPU {', '.join(gpu_ids)} but torch cannot use it here "
            f"({build}, torch.cuda.is_available() is False): the learner runs on the CPU")
    if choice == "cuda":
        note += " (loop.device = \"cuda\" asked for the GPU)"
    return LearnerPlacement(gpu_ids, "cpu", note)


class LearnerWorker:
    """What the learner actor runs (ray.remote is applied by `start_learner`)."""

    def __init__(self, config_data: dict, run_dir: str, budget):
        import ray

        self.config = TrainConfig(**config_data)
        self.run_dir, self.budget = Path(run_dir), budget
        ids = [str(i) for i in ray.get_gpu_ids()]
        self.where = learner_device(ids, self.config.loop.device)

    def placement(self) -> LearnerPlacement:
        return self.where

    def train(self, resume: bool):
        """The learner's side of the run, on its device; the summary (its exceptions reach
        the driver as Ray's task errors, their cause kept)."""
        from qhil.distributed.run import _train
        from qhil.distributed.spending import DRIVER_LEDGER, open_explorer_dispatcher
        from qhil.execution.registry import get_provider
        from qhil.rl.rundir import RunFolder

        config = self.config.with_overrides(**{"loop.device": self.where.device})
        folder = RunFolder(self.run_dir)
        with get_provider(config.provider) as provider:
            dispatcher = open_explorer_dispatcher(self.run_dir / DRIVER_LEDGER, provider, self.budget)
            try:
                return _train(config, folder, dispatcher, resume, None, self.where.gpu_ids)
            finally:
                dispatcher.ledger.close()
                folder.close()


def start_learner(config: TrainConfig, run_dir: Path, budget):
    """The learner actor, holding one GPU and the CPU the driver's learner would use."""
    import ray

    remote = ray.remote(num_gpus=1, num_cpus=0)(LearnerWorker)
    return remote.remote(config.model_dump(), str(run_dir), budget)
