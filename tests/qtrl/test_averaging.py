"""The distributed update is the paper's eq. (5): one Adam step on the mean of the N agents'
per-episode REINFORCE gradients (each agent's loss normalised by its own episode length)."""

from __future__ import annotations

import pytest
import torch

from qhil.cli import main
from qhil.qtrl.agent import build_model, episode_seed
from qhil.qtrl.config import QTRLConfig
from qhil.qtrl.envs import make_env
from qhil.qtrl.reinforce import reinforce_loss, rollout


def averaged_update(config: QTRLConfig) -> tuple[dict[str, torch.Tensor], set[str]]:
    """By hand: every agent's first episode, the mean of their losses, one Adam step. Also the
    parameters with no gradient signal: the mapping's output bias cancels in the centring
    theta - mean(theta), so Adam's first step turns float noise into +-lr there."""
    shape, model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    losses = []
    for rank in range(config.agents):
        seed = episode_seed(config, rank, 1)
        theta = model()
        episode = rollout(make_env(config.env), shape, theta, seed % 2**31,
                          torch.Generator().manual_seed(seed))
        losses.append(reinforce_loss(shape, theta, episode, config.gamma))
    (sum(losses) / config.agents).backward()
    flat = {name for name, p in model.named_parameters() if float(p.grad.abs().max()) < 1e-6}
    optimizer.step()
    return model.state_dict(), flat


def test_three_agents_apply_the_mean_gradient(tmp_path, capsys):
    config = QTRLConfig(env="CartPole-v1", blocks=2, seed=4, agents=3, episodes=1)
    with pytest.raises(SystemExit) as done:
        main(["qtrl", "--env", "CartPole-v1", "--blocks", "2", "--seed", "4", "--agents", "3",
              "--episodes", "1", "--out", str(tmp_path / "run")])
    assert done.value.code == 0
    state = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=False)["model"]
    expected, flat = averaged_update(config)
    assert flat == {"mapping.4.bias"}
    for name in set(expected) - flat:
        torch.testing.assert_close(state[name], expected[name], rtol=1e-5, atol=1e-6)
    _, initial = build_model(config)
    assert not torch.equal(state["angles"], initial.state_dict()["angles"])
