"""REINFORCE maths and environments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qhil.errors import ConfigError
from qhil.qtrl.envs import make_env
from qhil.qtrl.generator import PolicyShape
from qhil.qtrl.reinforce import Episode, discounted_returns, reinforce_loss, rollout


def test_discounted_returns():
    got = discounted_returns(np.array([1.0, 0.0, 2.0]), gamma=0.5)
    torch.testing.assert_close(got, torch.tensor([1.5, 1.0, 2.0]))


def test_loss_gradient_raises_probability_of_rewarded_action():
    shape = PolicyShape(2, 4, 2)
    theta = torch.zeros(shape.n_weights, requires_grad=True)
    episode = Episode(torch.ones(1, 2), torch.tensor([1]), np.array([1.0]))
    reinforce_loss(shape, theta, episode, 0.99).backward()
    stepped = (theta - 0.5 * theta.grad).detach()
    probs = torch.softmax(shape.logits(stepped, torch.ones(1, 2)), -1)[0]
    assert probs[1] > 0.5


def test_minigrid_observation_and_seeded_rollout():
    env = make_env("MiniGrid-Empty-5x5-v0")
    shape = PolicyShape(147, 8, 3)
    theta = torch.randn(shape.n_weights, generator=torch.Generator().manual_seed(0)) * 0.1
    first = rollout(env, shape, theta, 3, torch.Generator().manual_seed(1))
    again = rollout(env, shape, theta, 3, torch.Generator().manual_seed(1))
    assert first.observations.shape[1] == 147 and float(first.observations.max()) <= 1.0
    assert torch.equal(first.actions, again.actions) and int(first.actions.max()) < 3


def test_unknown_env_is_a_config_error():
    with pytest.raises(ConfigError, match="--env"):
        make_env("Pong-v5")


def test_episodes_to_reach_uses_a_trailing_window():
    from qhil.qtrl.summary import episodes_to_reach

    returns = [0.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    assert episodes_to_reach(returns, 1.0, window=2) == 5
    assert episodes_to_reach(returns, 0.5, window=2) == 2
    assert episodes_to_reach(returns, 2.0, window=1) is None
