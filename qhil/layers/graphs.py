"""A module's no-grad forward as TorchScript graphs, one per input shape, run without the GIL.

The learner's TD target evaluates the qtDNN surrogate (some 150 small ops at Pendulum's 4 x 2) on
the learner thread while the async explorer thread runs its Python (the job, the environment
step). Every eager op gives the GIL back and must take it again, so in a run the value took
3.3 ms of wall time against 1.0 ms alone. A traced graph runs all its ops in C++ with the GIL
released: 1.1 ms in the same run (issue 27; `benchmarks/bench_train_block_cost.py`). The values
are bit-identical: the same kernels in the same order (tests/layers/test_graphs.py). TD3 now
traces its whole TD target this way (qhil.rl.td3.TargetValue, several inputs): target actor,
T-block, smoothing and both target critics in one graph.

`torch.jit.trace` is deprecated in torch 2.x (it says so, once per trace) but kept; torch is
pinned (constraints.txt). Where tracing fails (a future torch, a module the tracer cannot follow),
a RuntimeWarning says why, once, and the eager forward is used from then on (the same values,
without the speed). Graphs are traced with grad off, hold the module's own parameters (in-place
updates such as the refit's are seen) and are rebuilt when a parameter's storage moves; with grad
on, the eager module runs. The mean-field kernel traces without tracer warnings.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import torch
from torch import nn

MAX_GRAPHS = 8  # input shapes kept (the learner's batch, the fidelity check's rows, ...)


class NoGradGraphs:
    """Call `module(*inputs)`; with grad off, through a traced graph of the inputs' shapes."""

    def __init__(self, module: nn.Module, what: str = "the surrogate's no-grad value"):
        self.module, self.what = module, what
        self.graphs: OrderedDict[tuple, torch.jit.ScriptModule] = OrderedDict()
        self.broken = False

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.broken or torch.is_grad_enabled():
            return self.module(*inputs)
        key = (*((tuple(x.shape), x.dtype, x.device) for x in inputs),
               *(p.data_ptr() for p in self.module.parameters()))
        graph = self.graphs.get(key)
        if graph is None:
            graph = self._trace(key, inputs)
        return self.module(*inputs) if graph is None else graph(*inputs)

    def _trace(self, key: tuple, inputs: tuple) -> torch.jit.ScriptModule | None:
        try:
            graph = torch.jit.trace(self.module, inputs, check_trace=False)
        except Exception as exc:  # noqa: BLE001 - any tracer limit: the eager forward is as correct
            self.broken = True
            warnings.warn(f"qhil: {self.what} runs eagerly from now on (the same "
                          f"values, without the traced graph's speed): tracing failed: {exc}",
                          RuntimeWarning, stacklevel=3)
            return None
        self.graphs[key] = graph
        if len(self.graphs) > MAX_GRAPHS:
            self.graphs.popitem(last=False)
        return graph

    def __getstate__(self) -> dict:
        """Copies and pickles carry the module only; graphs are traced again where needed."""
        return {"module": self.module, "what": self.what, "graphs": OrderedDict(),
                "broken": self.broken}
