"""`qhil train --gradient qtdnn|parameter-shift|spsa|exact`: the learner's circuits go through the
run's Dispatcher and match the cost model exactly; fidelity figures and the warning."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from qhil.cli import main
from qhil.execution.ledger import Ledger
from qhil.quantum.simulator import Simulator
from qhil.rl.config import dump_toml
from qhil.rl.fidelity import FidelityLog, GradientCheck
from qhil.rl.learner import build_td3
from tests.reference import fidelity_figures_before
from tests.rl.conftest import tiny_config

PSHIFT = {"quantum": {"qubits": 2, "layers": 2, "shots": 20},
          "network": {"pre_hidden": [16], "post_hidden": [16], "critic_hidden": [32], "clinks": 0},
          "loop": {"mode": "sync", "log_every_steps": 40, "checkpoint_every_steps": 100,
                   "device": "cpu"},
          "steps": 160, "num_envs": 1}


def run_cli(*argv: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    return exc.value.code


def write(tmp_path, **top):
    path = tmp_path / "cfg.toml"
    path.write_text(dump_toml(tiny_config(**{**PSHIFT, **top})))
    return path


@pytest.mark.parametrize("method", ["parameter-shift", "spsa", "exact"])
def test_learner_circuits_equal_the_estimate(method, tmp_path, capsys):
    cfg = write(tmp_path)
    out = tmp_path / "run"
    assert run_cli("train", "--config", str(cfg), "--gradient", method, "--out", str(out),
                   "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["gradient"] == method and summary["hw_learner"]["jobs"] > 0
    flag = [] if method == "exact" else ["--method", method]
    assert run_cli("estimate", "--config", str(cfg), "--provider", "local", *flag, "--json") == 0
    predicted = json.loads(capsys.readouterr().out)
    if method != "exact":
        p = predicted[method.replace("-", "_")]
        assert (p["circuits"], p["shots"], p["jobs"]) == tuple(
            summary["hw"][k] for k in ("circuits", "shots", "jobs"))
    assert run_cli("estimate", "--from-run", str(out), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == method
    assert report["ratios"]["circuits"] == report["ratios"]["jobs"] == 1.0
    with Ledger(out / "ledger.sqlite") as ledger:
        assert ledger.totals().circuits == summary["hw"]["circuits"]
    assert (out / "fidelity.png").exists() == (method != "exact")  # exact is the reference


def test_parameter_shift_counts_two_circuits_per_angle_per_sample(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", "--config", str(write(tmp_path)), "--gradient", "parameter-shift",
                   "--out", str(out), "--json") == 0
    s = json.loads(capsys.readouterr().out)
    batch, angles = 32, 2 * 2 * 2  # 2 layers x 2 qubits x (RX, RY)
    actor_updates, updates = s["updates"] // 2, s["updates"]
    assert s["hw_learner"]["circuits"] == actor_updates * batch * (2 * angles + 1) + updates * batch
    assert s["hw_learner"]["jobs"] == actor_updates + updates
    assert s["surrogate_grad_cosine"] > 0.5  # 20 shots: noisy, but the right direction


def test_async_loop_sends_learner_circuits_from_the_learner_thread(tmp_path, capsys):
    cfg = write(tmp_path, loop={**PSHIFT["loop"], "mode": "async"})
    out = tmp_path / "run"
    assert run_cli("train", "--config", str(cfg), "--gradient", "spsa", "--out", str(out),
                   "--json") == 0
    s = json.loads(capsys.readouterr().out)
    assert s["hw_learner"]["circuits"] == (s["updates"] // 2) * 32 * 3 + s["updates"] * 32


def test_refit_schedule_every_update_or_before_actor_updates_only():
    for every, expected in ((True, 4), (False, 2)):
        config, td3 = _td3(refit_every_update=every)
        calls: list[int] = []
        td3.qtdnn.refit = lambda *a, calls=calls, **k: calls.append(1) or 0.0
        batch = _batch(config)
        for _ in range(4):
            td3.update(batch, (batch.q_in, batch.q_out), torch.Generator())
        assert len(calls) == expected


def _batch(config):
    from qhil.rl.buffers import ReplaySamples
    b, d = 16, config.quantum.layers * (2 * config.quantum.qubits + 2)
    return ReplaySamples(torch.randn(b, 3), torch.rand(b, 1) * 4 - 2, torch.randn(b),
                         torch.randn(b, 3), torch.zeros(b), torch.rand(b, d), torch.rand(b, 4))


def test_exact_is_refused_off_simulators_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    code = run_cli("train", "--config", str(write(tmp_path)), "--gradient", "exact",
                   "--provider", "braket-iqm-garnet", "--out", str(out))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "simulator provider" in err[0]
    assert not out.exists()


def test_qtdnn_sends_no_learner_circuit_and_reports_the_gradient_figures(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", "--config", str(write(tmp_path)), "--out", str(out), "--json") == 0
    s = json.loads(capsys.readouterr().out)
    assert s["hw_learner"]["jobs"] == 0 and s["fidelity_checks"] > 0
    assert s["fidelity_reference"] == "exact" and (out / "fidelity.png").stat().st_size > 0
    for name in ("grad_cosine", "grad_rel_error", "jacobian_cosine", "jacobian_rel_error"):
        assert s[f"surrogate_{name}"] is not None


def _td3(**qtdnn):
    config = tiny_config(**{**PSHIFT, "quantum": {"qubits": 4, "layers": 2, "shots": 20},
                            "qtdnn": {**tiny_config().qtdnn.model_dump(), **qtdnn}})
    return config, build_td3(config, 3, 1, np.array([-2.0]), np.array([2.0]), torch.device("cpu"))


def _inspect(td3, seed=0):
    obs = torch.randn(64, 3, generator=torch.Generator().manual_seed(seed))
    fidelity = GradientCheck(td3, Simulator(4, precision="complex128"))
    loss = td3.actor_loss(obs, torch.Generator().manual_seed(0))
    return fidelity.inspect(loss, obs)


def test_fidelity_tells_an_exact_surrogate_from_an_unfitted_one():
    # at 4 qubits x 2 layers the mean-field prior is the exact circuit; an unfitted MLP is not
    _, exact_prior = _td3(prior="mean-field", hidden=[16])
    _, unfitted = _td3(prior="none", hidden=[16])
    good, bad = _inspect(exact_prior), _inspect(unfitted)
    assert good["surrogate/grad_cosine"] > 0.99 and good["surrogate/grad_rel_error"] < 0.05
    assert good["surrogate/jacobian_cosine"] > 0.99
    assert bad["surrogate/grad_cosine"] < 0.9 and bad["surrogate/grad_rel_error"] > 0.3


@pytest.mark.parametrize("prior", ["mean-field", "none"])
def test_one_walk_check_gives_the_figures_of_separate_walks(prior):
    # 80 samples: the Jacobian's 64 and 16 more that walk a VJP bra; same complex128 reference.
    # Equal to float32 rounding (the actor's controls and the exact Jacobian are float32).
    _, td3 = _td3(prior=prior, hidden=[16])
    obs = torch.randn(80, 3, generator=torch.Generator().manual_seed(4))
    sim = Simulator(4, precision="complex128")
    loss = td3.actor_loss(obs, torch.Generator().manual_seed(0))
    new = GradientCheck(td3, sim).inspect(loss, obs)
    loss = td3.actor_loss(obs, torch.Generator().manual_seed(0))
    old = fidelity_figures_before(td3, sim, loss, obs)
    assert new.keys() == old.keys()
    assert all(abs(new[k] - old[k]) < 1e-6 for k in new)


def test_complex64_reference_moves_the_figures_by_under_1e_6_at_paper_scale():
    # the learner's reference is complex64 (qhil.rl.learner): at 10 x 10, batch 256, its four
    # figures measured within 7e-8 of complex128's (3 seeds x mean-field and paper qtDNN)
    config = tiny_config(**{**PSHIFT, "quantum": {"qubits": 10, "layers": 10, "shots": 20}})
    td3 = build_td3(config, 3, 1, np.array([-2.0]), np.array([2.0]), torch.device("cpu"))
    obs = torch.randn(96, 3, generator=torch.Generator().manual_seed(5))
    figures = {}
    for precision in ("complex64", "complex128"):
        loss = td3.actor_loss(obs, torch.Generator().manual_seed(0))
        figures[precision] = GradientCheck(td3, Simulator(10, precision=precision)).inspect(loss, obs)
    assert all(abs(figures["complex64"][k] - figures["complex128"][k]) < 1e-6
               for k in figures["complex128"])


def test_warning_after_k_low_checks_says_what_to_try():
    log = FidelityLog(warn_below=0.5, warn_checks=3)
    for cos in (0.9, 0.2, 0.1):
        log.add({"surrogate/grad_cosine": cos})
    assert log.warning() is None  # one check of the last three is fine
    log.add({"surrogate/grad_cosine": 0.3})
    warning = log.warning()
    assert warning and "0.30 < 0.5" in warning and "--gradient parameter-shift" in warning
    log.reference = "shadow"
    assert "shadow estimate" in log.warning()
    s = log.summary()
    assert s["surrogate_grad_cosine"] == 0.2 and s["surrogate_grad_cosine_last"] == 0.3


def test_paper_options_refit_every_update_and_train_the_index_neurons():
    # the paper's qtDNN (prior none): the mean-field prior reads the CZ indices as discrete gates
    config, td3 = _td3(refit_every_update=True, index_gradient=True, features="raw", prior="none")
    assert td3.qtdnn.every_update and td3.actor.control_map.index_gradient
    obs = torch.randn(16, 3)
    td3.actor_loss(obs, torch.Generator()).backward()
    pre_out = td3.actor.pre[-1]
    index_rows = td3.actor.control_map.index_mask.nonzero().flatten()
    assert pre_out.weight.grad[index_rows].abs().sum() > 0
    _, detached = _td3(index_gradient=False, features="raw", prior="none")
    detached.actor_loss(obs, torch.Generator()).backward()
    assert detached.actor.pre[-1].weight.grad[index_rows].abs().sum() == 0


def test_leaky_relu_critic_option():
    config = tiny_config(network={**tiny_config().network.model_dump(),
                                  "critic_activation": "leaky_relu"})
    td3 = build_td3(config, 3, 1, np.array([-2.0]), np.array([2.0]), torch.device("cpu"))
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in td3.qf1.modules())


def test_the_pqc_figure_sees_a_surrogate_the_c_links_mask():
    # c-links carry the PreDNN gradient exactly for every method, so g can match g_exact while
    # the surrogate's Jacobian points the wrong way: the PQC's own VJP cosine shows it
    from qhil.layers.fidelity import fidelity

    gen = torch.Generator().manual_seed(1)
    jac_exact, upstream, g = (torch.randn(8, 4, 6, generator=gen), torch.randn(8, 4, generator=gen),
                              torch.randn(50, generator=gen))
    masked = fidelity(g, g, -jac_exact, jac_exact, upstream)
    assert masked.grad_cosine == pytest.approx(1.0) and masked.pqc_grad_cosine == pytest.approx(-1.0)
    assert fidelity(g, g, jac_exact, jac_exact, upstream).pqc_grad_cosine == pytest.approx(1.0)
    assert fidelity(g, g, jac_exact, jac_exact).pqc_grad_cosine is None  # no upstream given


def test_a_low_pqc_figure_warns_though_the_gradient_cosine_is_high():
    log = FidelityLog(warn_below=0.5, warn_checks=3)
    for _ in range(3):
        log.add({"surrogate/grad_cosine": 0.97, "surrogate/pqc_grad_cosine": 0.1})
    warning = log.warning()
    assert warning and "through the PQC 0.10 < 0.5" in warning
    assert log.summary()["surrogate_pqc_grad_cosine"] == pytest.approx(0.1)
