"""The local Ray cluster a distributed run uses, and the check that Ray is installed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from qhil.errors import ConfigError

EXTRA = "qhil train --explorers needs Ray, the optional extra: pip install 'qhil[ray]'"


def require_ray() -> None:
    """Ray Core is importable, or a UserError naming the extra (exit 2)."""
    from qhil.sweep.cluster import require_ray_modules

    require_ray_modules(EXTRA)


def check_distributed(config) -> None:
    """Ray is installed and the config fits explorer actors (exit 2 otherwise, nothing started)."""
    require_ray()
    if config.loop.mode == "sync":
        raise ConfigError("explorer actors run beside the learner (the async loop): drop "
                          "--deterministic / loop.mode = \"sync\", or run one explorer")


@contextmanager
def local_ray() -> Iterator[None]:
    """A Ray cluster on this machine (session files in a short temporary folder, workers with the
    driver's PYTHONPATH), shut down after: the sweep's, reused. A caller that started Ray
    already (a notebook, a test declaring a GPU, a Tune trial) keeps its own cluster."""
    require_ray()
    import ray

    from qhil.sweep.cluster import ray_cluster

    if ray.is_initialized():
        yield
        return
    with ray_cluster(None):
        yield
