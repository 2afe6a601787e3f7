"""TD3 target networks: Polyak averaging, and which T-block the target policy uses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from qhil.layers.gradients import strategy
from qhil.rl.buffers import ReplaySamples
from qhil.rl.learner import build_td3
from qhil.rl.qblock import LearnerBlock
from qhil.threads import side_executor
from tests.rl.conftest import tiny_config


def make(block: str):
    return build_td3(tiny_config(block=block), 3, 1, np.array([-2.0]), np.array([2.0]),
                     torch.device("cpu"))


def test_polyak_moves_targets_by_tau_and_leaves_the_unused_target_qtdnn():
    td3 = make("pqc")
    with torch.no_grad():
        for p in td3.actor.parameters():
            p.add_(1.0)
    before = {k: v.clone() for k, v in td3.actor_target.state_dict().items()}
    td3.polyak()
    after = td3.actor_target.state_dict()
    tau = td3.s.tau
    for name, live in td3.actor.state_dict().items():
        if name.startswith("quantum."):
            assert torch.equal(after[name], before[name]), name
        elif after[name].is_floating_point():
            assert torch.allclose(after[name], before[name] + tau * (live - before[name]), atol=1e-6), name


def test_fc_target_policy_uses_the_target_fc_layer():
    td3 = make("fc")
    with torch.no_grad():
        td3.actor.fc.weight.add_(5.0)  # live fc drifts; the target's must not follow at once
    obs = torch.randn(8, 3)
    g = torch.Generator().manual_seed(0)
    q_in, clinks = td3.actor_target.controls(obs)
    expected = td3.actor_target.finish(td3.actor_target.fc(q_in), clinks)
    smoothed = td3.target_action(obs, g)
    bound = td3.s.target_noise_clip * td3.actor_target.scale
    assert ((smoothed - expected).abs() <= bound + 1e-6).all()
    live = td3.actor_target.finish(td3.actor.fc(q_in), clinks)
    assert not torch.allclose(expected, live)


def test_actor_step_reaches_the_prednn_through_the_qtdnn_but_not_its_weights():
    """The actor's backward goes through the qtDNN's Jacobian only: its weights get no
    gradient (the refit fits them) and keep requires_grad for the refit afterwards."""
    td3 = make("pqc")
    qtdnn = list(td3.actor.quantum.qtdnn.parameters())
    loss = td3.actor_loss(torch.randn(16, 3), torch.Generator().manual_seed(0))
    loss.backward()
    assert all(p.grad is None for p in qtdnn) and all(p.requires_grad for p in qtdnn)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in td3.actor.pre.parameters())


def test_target_actor_shares_the_live_qtdnn_and_old_checkpoints_still_load():
    """The target actor's qtDNN is the live one (never copied, never saved with the target); a
    state written when the target kept its own copy loads, that copy ignored."""
    td3 = make("pqc")
    assert td3.actor_target.quantum.qtdnn is td3.actor.quantum.qtdnn
    assert td3.actor_target.pre is not td3.actor.pre
    state = td3.state_dict()
    assert not any(k.startswith("quantum.") for k in state["actor_target"])
    old = {**state, "actor_target": {**state["actor_target"], **{
        k: v + 7.0 for k, v in td3.actor.state_dict().items() if k.startswith("quantum.")}}}
    with torch.no_grad():
        for p in td3.actor_target.pre.parameters():
            p.add_(1.0)
    fresh = make("pqc")
    fresh.load_state_dict(old)
    for name, value in td3.actor.state_dict().items():  # the live qtDNN, not the stale copy
        assert torch.equal(fresh.actor.state_dict()[name], value), name
    for name, value in state["actor_target"].items():
        assert torch.equal(fresh.actor_target.state_dict()[name], value), name
    bad = {**state, "actor_target": {**state["actor_target"], "pre.9.weight": torch.zeros(1)}}
    with pytest.raises(RuntimeError, match="target actor state"):
        make("pqc").load_state_dict(bad)


def updates(td3, side, count: int = 6) -> tuple[list[tuple], dict]:
    """`count` updates on fixed minibatches, the refit on `side` (None: inline):
    each update's surrogate, critic and actor losses, and every network's state after."""
    td3.side, g, losses = side, torch.Generator().manual_seed(3), []
    data = torch.Generator().manual_seed(4)
    for _ in range(count):
        batch = minibatch(td3, data)
        logs = td3.update(batch, (batch.q_in, batch.q_out), g)
        losses.append(tuple(logs.get(k) for k in (
            "surrogate/loss", "losses/qf1_loss", "losses/qf2_loss", "losses/actor_loss")))
    nets = ("actor", "qf1", "qf2", "actor_target", "qf1_target", "qf2_target")
    return losses, {f"{n}.{k}": v.clone() for n in nets
                    for k, v in getattr(td3, n).state_dict().items()}


def minibatch(td3, g: torch.Generator) -> ReplaySamples:
    n, controls, width = 32, td3.actor.ansatz.control_dim, td3.actor.ansatz.n_qubits
    rand = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    return ReplaySamples(rand(n, 3), rand(n, 1) * 4 - 2, rand(n), rand(n, 3), torch.zeros(n),
                         rand(n, controls) * 2 - 1, rand(n, width))


def test_the_refit_on_a_side_thread_gives_the_same_networks_and_losses_as_inline():
    """Overlapping the refit with the critic step changes where it runs, not what it computes."""
    inline_losses, inline = updates(make("pqc"), None)
    side_losses, side = updates(make("pqc"), side_executor())
    assert inline_losses == side_losses and inline_losses[1][0] is not None
    assert all(v is not None for v in inline_losses[1])
    assert all(torch.equal(inline[k], side[k]) for k in inline)


def _eager_td_target(td3, batch, generator):
    graph, td3.target_graph = td3.target_graph, None
    try:
        return td3.td_target(batch, generator)
    finally:
        td3.target_graph = graph


@pytest.mark.parametrize("block", ["pqc", "fc", "zeros"])
def test_the_traced_td_target_is_the_eager_one_to_the_bit(block):
    """TD3.td_target runs one traced graph (TargetValue): the same values as the eager ops,
    the same generator draws, after the targets and the qtDNN move in place (Polyak, refit)."""
    td3 = make(block)
    assert td3.target_graph is not None
    g = torch.Generator().manual_seed(3)
    batch = ReplaySamples(torch.randn(32, 3, generator=g), torch.zeros(32, 1), torch.randn(32, generator=g),
                          torch.randn(32, 3, generator=g), (torch.rand(32, generator=g) < 0.2).float(),
                          torch.zeros(32, 0), torch.zeros(32, 0))
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            traced = td3.td_target(batch, torch.Generator().manual_seed(7))
        assert not [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
        assert torch.equal(traced, _eager_td_target(td3, batch, torch.Generator().manual_seed(7)))
        with torch.no_grad():
            for p in [*td3.actor.parameters(), *td3.qf1.parameters(), *td3.qf2.parameters()]:
                p.add_(0.05)
        td3.polyak()
    assert len(td3.target_graph.graphs) == 1 and not td3.target_graph.broken


def test_a_pqc_method_that_sends_jobs_keeps_the_eager_td_target():
    td3 = make("pqc")
    block = LearnerBlock(td3.actor, strategy("parameter-shift"), td3.block.circuit)
    other = type(td3)(td3.actor, td3.qf1, td3.qf2, td3.s, td3.qtdnn, block)
    assert other.target_graph is None
