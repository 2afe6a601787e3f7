"""The Ray cluster a sweep runs on: started on this machine and stopped after (the default), or
an existing one joined with --address (`auto`, or HOST:PORT of `ray start --head`).

    with ray_cluster(address, temp_root) as cluster:
        parallel = cluster.check(cpus_per_trial, gpus_per_trial)   ResourceError (exit 2)

A local cluster keeps its session files in a short temporary folder (Ray's sockets must fit
in 107 characters) that is removed with it; Tune's files go to the sweep folder (tuner.py).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from qhil.errors import ResourceError, UserError
from qhil.progress import warn

EXTRA = "qhil sweep needs Ray Tune, the optional extra: pip install 'qhil[ray]'"
REACH_TIMEOUT_S = 3.0


def require_tune() -> None:
    """Ray Tune is importable, or a UserError naming the extra (exit 2)."""
    require_ray_modules(EXTRA, tune=True)


def require_ray_modules(extra: str, tune: bool = False) -> None:
    """Ray Core (and Ray Tune with `tune`) is importable, or a UserError `extra` (exit 2)."""
    try:
        import ray  # noqa: F401
        if tune:
            from ray import tune as _  # noqa: F401
    except ImportError:
        raise UserError(extra) from None


def address(text: str) -> str:
    """--address: `auto` or HOST:PORT."""
    host, colon, port = text.rpartition(":")
    if text == "auto" or (colon and host and port.isdigit() and 0 < int(port) < 65536):
        return text
    raise argparse.ArgumentTypeError(f"must be auto or HOST:PORT (e.g. 10.0.0.5:6379), got '{text}'")


def check_address(where: str) -> None:
    """A TCP connection to HOST:PORT opens within a few seconds, or a UserError (exit 2)."""
    host, _, port = where.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise UserError(f"no Ray cluster answers at {where} ({exc.strerror or exc}); start one "
                        f"there with 'ray start --head --port {port}', or drop --address to run "
                        f"on this machine") from None


class Cluster:
    """The connected cluster's resources, checked against what each trial asks for."""

    def check(self, cpus: float, gpus: float) -> int:
        """How many trials can run at once; ResourceError when not even one could ever start."""
        import ray

        have = ray.cluster_resources()
        cpu, gpu = have.get("CPU", 0.0), have.get("GPU", 0.0)
        if cpus > cpu or gpus > gpu:
            raise ResourceError(
                f"a trial asks for {cpus:g} CPUs and {gpus:g} GPUs but the Ray cluster has "
                f"{cpu:g} CPUs and {gpu:g} GPUs in all, so no trial could ever start; lower "
                f"--cpus-per-trial/--gpus-per-trial or add nodes; nothing was started")
        free = ray.available_resources()
        if cpus > free.get("CPU", 0.0) or gpus > free.get("GPU", 0.0):
            warn("other work holds the cluster's CPUs/GPUs now: trials wait until it frees them")
        return min(_fits(cpu, cpus), _fits(gpu, gpus))


def _fits(have: float, each: float) -> int:
    return max(1, math.floor(have / each + 1e-9)) if each > 0 else 10**6


@contextmanager
def ray_cluster(where: str | None) -> Iterator[Cluster]:
    """Ray initialised for the sweep, shut down (and a local cluster's files removed) after."""
    require_tune()
    import ray

    if where not in (None, "auto"):
        check_address(where)
    temp = None if where else tempfile.mkdtemp(prefix="qhil-ray-")
    try:
        _init(ray, where, temp)
        yield Cluster()
    finally:
        ray.shutdown()
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


def _init(ray, where: str | None, temp: str | None) -> None:
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING,
             "runtime_env": {"env_vars": worker_env()}}
    if where is None:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, _temp_dir=temp, **quiet)
        return
    try:
        ray.init(address=where, **quiet)
    except ConnectionError as exc:
        raise UserError(f"no Ray cluster to join at --address {where} ({_first_line(exc)}); "
                        f"start one with 'ray start --head' or drop --address") from None


def worker_env() -> dict[str, str]:
    """What trials inherit from the driver: its PYTHONPATH (a source checkout) and quiet bars."""
    env = {"QHIL_QUIET": "1"}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
