"""Every shipped training config loads, and the ones whose PQC must carry the policy say so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qhil.cli import main
from qhil.rl.config import TrainConfig, load_train_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads(path):
    config = load_train_config(path)
    if "-pqc" in path.name or "10x10" in path.name:
        assert config.network.clinks == 0  # the T-block is the actor's only path


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_config_but_the_papers_uses_the_mean_field_surrogate(path):
    prior = load_train_config(path).qtdnn.prior
    assert prior == ("none" if path.stem.endswith("-paper") else "mean-field")


def test_the_built_in_config_uses_the_mean_field_surrogate_and_the_paper_is_one_setting_away():
    assert TrainConfig().qtdnn.prior == "mean-field"
    mean_field = TrainConfig().qtdnn_settings()
    assert (mean_field.hidden, mean_field.activation, mean_field.weight_decay) == ([128, 128], "gelu", 0.05)
    paper = TrainConfig().with_overrides(**{"qtdnn.prior": "none"})
    q = paper.qtdnn_settings()
    assert (q.features, q.activation, q.weight_decay) == ("raw", "leaky_relu", 0.0)
    assert (q.n_tiny_batches, q.tiny_batch_size) == (32, 32)
    assert paper.qtdnn_hidden() == [2 ** (paper.quantum.qubits + 1)]


def test_a_value_the_config_gives_wins_over_the_priors_choice():
    c = TrainConfig().with_overrides(**{"qtdnn.n_tiny_batches": 7, "qtdnn.activation": "tanh"})
    q = c.qtdnn_settings()
    assert (q.n_tiny_batches, q.activation, q.tiny_batch_size) == (7, "tanh", 64)
    assert c.qtdnn.tiny_batch_size is None  # the file keeps "the prior's choice", not a number


def test_the_paper_twins_the_configs_name_exist():
    named = {n for p in CONFIGS for n in re.findall(r"configs/([\w.-]+-paper\.toml)", p.read_text())}
    assert {"hopper-paper.toml", "humanoid-paper.toml"} <= named
    assert all((CONFIGS[0].parent / n).is_file() for n in named)


@pytest.mark.parametrize("name", ["pendulum-pqc-paper.toml", "pendulum-10x10-paper.toml",
                                  "humanoid-paper.toml", "hopper-paper.toml"])
def test_paper_configs_follow_algorithm_1(name):
    c = load_train_config(Path(CONFIGS[0]).parent / name)
    q = c.qtdnn_settings()
    assert (q.refit_every_update, q.index_gradient, q.features, q.prior) == (True, True, "raw", "none")
    assert (q.recent_fraction, q.control_noise, q.weight_decay) == (0.0, 0.0, 0.0)
    assert q.activation == "leaky_relu" and c.network.critic_activation == "leaky_relu"
    assert c.qtdnn_hidden() == [2 ** (c.quantum.qubits + 1)] or c.qtdnn_hidden() == [2048]


def test_inverted_double_pendulum_config_trains_a_few_steps(tmp_path):
    out = tmp_path / "idp"
    with pytest.raises(SystemExit) as exc:
        main(["train", "--config", str(Path(CONFIGS[0]).parent / "inverted-double-pendulum-pqc.toml"),
              "--steps", "300", "--out", str(out), "--json"])
    assert exc.value.code == 0 and (out / "summary.json").exists()


def test_eval_episodes_0_is_refused_before_anything_is_trained(tmp_path, capsys):
    from qhil.rl.config import dump_toml
    from tests.rl.conftest import tiny_config

    text = dump_toml(tiny_config()).replace("episodes = 2", "episodes = 0")
    assert "episodes = 0" in text
    (tmp_path / "zero.toml").write_text(text)
    with pytest.raises(SystemExit) as done:
        main(["train", "--config", str(tmp_path / "zero.toml"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "eval.episodes" in err and "final = false" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_the_prior_flag_switches_the_surrogate_and_its_defaults(tmp_path):
    from qhil.cli import build_parser
    from qhil.commands.train import config_and_folder

    args = build_parser().parse_args(["train", "--prior", "none", "--out", str(tmp_path / "r")])
    config = config_and_folder(args)[0]
    assert config.qtdnn.prior == "none" and config.qtdnn_settings().activation == "leaky_relu"
