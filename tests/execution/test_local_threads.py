"""A local job runs with the torch thread count of the thread that submitted it."""

import threading

import torch

from qhil import get_provider
from tests.execution.helpers import small_request


def _worker_threads(provider, threads: int, rng) -> int:
    """Submit one job from a thread set to `threads`; then ask the job's worker its setting."""
    seen = {}

    def caller():
        torch.set_num_threads(threads)
        provider.submit(small_request(rng)).result(timeout_s=60)
        seen["worker"] = provider._executor.submit(torch.get_num_threads).result()

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join()
    return seen["worker"]


def test_local_jobs_take_the_callers_thread_count(rng):
    """The training explorer (1 thread) must not leave the simulator worker spinning 2 threads
    beside the learner; `qhil sample` (every core) keeps them all."""
    with get_provider("local") as provider:
        assert _worker_threads(provider, 1, rng) == 1
        assert _worker_threads(provider, 2, rng) == 2
        assert _worker_threads(provider, 1, rng) == 1
