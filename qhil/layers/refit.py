"""The qtDNN refit step without autograd, for the paper's plain MLP qtDNN and the mean-field one.

The refit is 32 sequential AdamW steps on tiny batches (32 pairs) of a wide MLP ([220, 2048, 10]
at the paper's Humanoid scale), so per-step overheads count: autograd's graph, fresh gradient
tensors every step (`zero_grad(set_to_none=True)`, 1.8 MB for the first layer) and the input
encoding redone per tiny batch. `MLPStep` writes the same gradients by hand into persistent
`.grad` buffers (one matmul per weight, aten's fused activation backwards) and leaves the step
to the trainer's AdamW, whose state is the one checkpoints save; the trainer encodes every tiny
batch at once. It applies to a qtDNN whose network is Linear (act Linear)* Sigmoid, act one of
LeakyReLU, GELU, SiLU, Tanh, on a parameter-free input encoding (the raw controls or
TrigFeatures), and to the mean-field qtDNN, sigmoid(logit(prior) + residual): the prior has no
parameters, so its logit is computed once for every tiny batch (one pass of the mean-field
simulation instead of one per AdamW step) and enters the step as an `offset`. Anything else keeps
the autograd path (`plain_mlp` says which). Same losses and parameters as autograd to float
rounding (tests/rl/test_refit.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn

ATEN = torch.ops.aten
Backward = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _leaky_relu(slope: float, g, pre, out):
    return ATEN.leaky_relu_backward(g, pre, slope, False)


def _gelu(approximate: str, g, pre, out):
    return ATEN.gelu_backward(g, pre, approximate=approximate)


def _silu(g, pre, out):
    return ATEN.silu_backward(g, pre)


def _tanh(g, pre, out):
    return ATEN.tanh_backward(g, out)


def _backward_of(act: nn.Module) -> Backward | None:
    """d loss / d pre-activation from (d loss / d activation, pre-activation, activation);
    module-level functions (not lambdas), so a layer holding the step pickles."""
    if isinstance(act, nn.LeakyReLU):
        return functools.partial(_leaky_relu, act.negative_slope)
    if isinstance(act, nn.GELU):
        return functools.partial(_gelu, act.approximate)
    return {nn.SiLU: _silu, nn.Tanh: _tanh}.get(type(act))


def plain_mlp(net: nn.Module, sigmoid: bool = True
              ) -> tuple[list[nn.Linear], list[nn.Module], list[Backward]] | None:
    """Linear layers, activations and their backwards of Linear (act Linear)* Sigmoid (or, with
    `sigmoid=False`, Linear (act Linear)*: the logits of a residual), else None."""
    mods = list(net.children()) if isinstance(net, nn.Sequential) else []
    if sigmoid and (len(mods) < 2 or not isinstance(mods[-1], nn.Sigmoid)):
        return None
    mods = mods[:-1] if sigmoid else mods
    if not mods or len(mods) % 2 == 0:
        return None
    linears, acts = mods[::2], mods[1::2]
    backs = [_backward_of(a) for a in acts]
    if not all(isinstance(m, nn.Linear) and m.bias is not None for m in linears) or None in backs:
        return None
    return linears, acts, backs


class MLPStep:
    """Forward, BCE loss and hand-written backward of a plain MLP into its `.grad` buffers."""

    def __init__(self, linears: list[nn.Linear], acts: list[nn.Module], backs: list[Backward]):
        self.linears, self.acts, self.backs = linears, acts, backs

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 offset: torch.Tensor | None = None) -> torch.Tensor:
        """Write d BCE(mean) / d parameters for inputs x (b, d), targets y (b, n); return the loss.
        `offset` (b, n) is added to the last layer's output before the sigmoid (a prior's logit)."""
        with torch.no_grad():
            inputs, pres = self._forward(x)
            logits = pres[-1] if offset is None else pres[-1] + offset
            prob = torch.sigmoid(logits)
            loss = nn.functional.binary_cross_entropy(prob, y)
            self._backward(inputs, pres, (prob - y) / y.numel())
        return loss

    def _forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Each layer's input (the previous activation) and pre-activation."""
        inputs, pres = [], []
        for i, layer in enumerate(self.linears):
            inputs.append(x)
            pres.append(torch.addmm(layer.bias, x, layer.weight.t()))
            if i < len(self.acts):
                x = self.acts[i](pres[-1])
        return inputs, pres

    def _backward(self, inputs: list[torch.Tensor], pres: list[torch.Tensor],
                  grad: torch.Tensor) -> None:
        """Back from d loss / d last pre-activation, layer by layer, into the `.grad` buffers."""
        for i in range(len(self.linears) - 1, -1, -1):
            weight, bias = self.linears[i].weight, self.linears[i].bias
            torch.mm(grad.t(), inputs[i], out=_grad_buffer(weight))
            torch.sum(grad, dim=0, out=_grad_buffer(bias))
            if i:
                grad = self.backs[i - 1](grad @ weight, pres[i - 1], inputs[i])


def _grad_buffer(param: nn.Parameter) -> torch.Tensor:
    """The parameter's `.grad`, made once and then overwritten in place by every step."""
    if param.grad is None or param.grad.shape != param.shape:
        param.grad = torch.zeros_like(param)
    return param.grad
