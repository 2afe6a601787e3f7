"""The learner of a distributed run on the cluster's GPU: when Ray has a GPU to give, the
learner's side of the run (run.py's `_train`: the learner, the run's journal, checkpoints,
evaluations' scheduling, the summary) runs in a Ray actor that holds one, with its torch on
cuda; on a cluster without one it stays in the driver's process, on the CPU, as before. The
actor itself (`LearnerWorker`) lives beside `_train` in run.py.

    gpus = learner_gpus(config)                  1 when the cluster has a GPU and loop.device allows
    placement = learner_device(ray.get_gpu_ids(), config.loop.device)   inside the actor

Ray assigns the GPU (it sets CUDA_VISIBLE_DEVICES for the actor); whether torch can use it is
the actor's own check: a GPU Ray assigned that torch cannot see (a CPU-only torch build, no
driver) leaves the learner on the CPU, said in the placement's `note`, which the driver prints.
"""

from __future__ import annotations

from dataclasses import dataclass

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
