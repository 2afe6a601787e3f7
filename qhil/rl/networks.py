"""Actor (PreDNN -> T-block -> PostDNN, plus c-links) and critic networks.

T-blocks, everything else identical (the paper's ablations):
    pqc    the quantum layer: hardware marginals forward, qtDNN backward
    fc     a linear map controls -> n values
    rbg    uniform random bits (B, n)
    zeros  zeros (B, n)
"""

from __future__ import annotations

import torch
from torch import nn

from qhil.layers.hdqnn import ControlMap, PQCBlock, QtDNN, TrigFeatures
from qhil.layers.meanfield import MeanFieldQtDNN
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.rl.config import TrainConfig


def mlp(widths: list[int], activation: type[nn.Module] = nn.LeakyReLU) -> nn.Sequential:
    """Linear layers with `activation` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """hDQNN actor. `controls(obs)` -> (q_i, clinks); `finish(y, clinks)` -> action."""

    def __init__(self, config: TrainConfig, obs_dim: int, act_dim: int,
                 action_low: torch.Tensor, action_high: torch.Tensor):
        super().__init__()
        q = config.quantum
        self.block = config.block
        self.ansatz = HDQNNAnsatz(q.qubits, q.layers, q.entangler)
        self.width = q.qubits
        self.n_clinks = config.network.clinks
        dim = self.ansatz.control_dim
        self.pre = mlp([obs_dim, *config.network.pre_hidden, dim + self.n_clinks])
        self.control_map = ControlMap(self.ansatz, config.qtdnn.index_gradient)
        s = config.qtdnn_settings()
        features = TrigFeatures(self.ansatz) if s.features == "trig" else None
        qtdnn = (MeanFieldQtDNN(self.ansatz, config.qtdnn_hidden(), s.activation)
                 if s.prior == "mean-field" else
                 QtDNN(dim, q.qubits, config.qtdnn_hidden(), s.activation, features))
        self.quantum = PQCBlock(self.ansatz, qtdnn)
        self.fc = nn.Linear(dim, q.qubits) if self.block == "fc" else None
        self.post = mlp([q.qubits + self.n_clinks, *config.network.post_hidden, act_dim])
        self.register_buffer("scale", (action_high - action_low) / 2)
        self.register_buffer("bias", (action_high + action_low) / 2)

    def controls(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """PreDNN: observations -> PQC controls q_i (B, control_dim) and c-links (B, clinks)."""
        raw = self.pre(obs)
        dim = self.ansatz.control_dim
        return self.control_map(raw[:, :dim]), raw[:, dim:]

    def t_block(self, q_in: torch.Tensor, y_hw: torch.Tensor | None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """The T-block output (B, n); for pqc, y_hw=None means the qtDNN surrogate (A_qt)."""
        shape = (q_in.shape[0], self.width)
        if self.block == "pqc":
            return self.quantum(q_in, y_hw)
        if self.block == "fc":
            return self.fc(q_in)
        if self.block == "rbg":
            bits = torch.randint(0, 2, shape, generator=generator, device=generator.device)
            return bits.to(q_in)
        return torch.zeros(shape, device=q_in.device, dtype=q_in.dtype)

    def finish(self, y: torch.Tensor, clinks: torch.Tensor) -> torch.Tensor:
        """PostDNN on (T-block output, c-links) -> action within the action bounds."""
        return torch.tanh(self.post(torch.cat([y, clinks], dim=1))) * self.scale + self.bias

    def surrogate(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A_qt(s): the actor with the PQC replaced by the qtDNN; no provider involved."""
        q_in, clinks = self.controls(obs)
        return self.finish(self.t_block(q_in, None, generator), clinks)


class Critic(nn.Module):
    """Q(s, a); the action joins at layer `action_layer` (0 = input)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], action_layer: int = 0,
                 activation: str = "relu"):
        super().__init__()
        act = nn.LeakyReLU if activation == "leaky_relu" else nn.ReLU
        split = min(action_layer, len(hidden))
        self.head = mlp([obs_dim, *hidden[:split]], act) if split else nn.Identity()
        first = hidden[split - 1] if split else obs_dim
        self.tail = mlp([first + act_dim, *hidden[split:], 1], act)
        self.split = split
        self.head_act = act()

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        h = self.head_act(self.head(obs)) if self.split else obs
        return self.tail(torch.cat([h, action], dim=1)).squeeze(-1)
