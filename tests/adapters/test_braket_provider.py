"""BraketProvider on LocalSimulator, its profile options, availability and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qhil import HDQNNAnsatz
from qhil.adapters.braket import BraketProvider
from qhil.config import ProviderProfile, find_profile
from qhil.errors import ConfigError
from qhil.execution.registry import availability
from tests.conftest import random_controls
from tests.reference import assert_within_shot_noise, reference_marginals
from tests.test_cli import run_cli

AWS_PROFILES = ["braket-sv1", "braket-ionq-forte", "braket-iqm-garnet", "braket-rigetti-cepheus",
                "braket-iqm-emerald", "braket-ionq-forte-enterprise", "braket-aqt-ibex"]


def local_profile(device="default", **options) -> ProviderProfile:
    return ProviderProfile(name="braket-test", kind="braket", device=device,
                           limits={"max_qubits": 10, "supports_exact": True}, options=options,
                           source_path="providers/braket-test.toml")


def test_program_set_mode_chunks_by_the_simulators_limit_and_keeps_row_order(rng, seeded_braket):
    ansatz = HDQNNAnsatz(2, 1, "chain")
    req = ansatz.request(random_controls(rng, ansatz, 101), shots=400)  # LocalSimulator: 100 max
    with BraketProvider(local_profile(local_mode="program_set")) as provider:
        res = provider.submit(req).result(timeout_s=600)
    assert_within_shot_noise(res.marginals, reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1]), 400)
    assert all(sum(c.values()) == 400 for c in res.counts)


def test_readout_noise_on_the_density_matrix_simulator_is_exactly_applied(rng):
    ansatz = HDQNNAnsatz(3, 2)
    req = ansatz.request(random_controls(rng, ansatz, 4), shots=None)
    profile = local_profile("braket_dm", noise=True, readout_flip=0.1, depolarizing_1q=0.0,
                            depolarizing_2q=0.0)
    with BraketProvider(profile) as provider:
        res = provider.submit(req).result(timeout_s=600)
    ideal = reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1])
    np.testing.assert_allclose(res.marginals, ideal * 0.8 + 0.1, atol=1e-5)


def test_depolarising_noise_from_the_calibration_pulls_marginals_to_one_half(rng):
    ansatz = HDQNNAnsatz(3, 3)
    req = ansatz.request(random_controls(rng, ansatz, 4), shots=None)
    profile = local_profile("braket_dm", noise=True, depolarizing_1q=0.05, depolarizing_2q=0.1,
                            readout_flip=0.0)
    with BraketProvider(profile) as provider:
        noisy = provider.submit(req).result(timeout_s=600).marginals
    ideal = reference_marginals(req.hdqnn_arrays[0], req.hdqnn_arrays[1])
    assert (np.abs(noisy - 0.5) <= np.abs(ideal - 0.5) + 1e-9).all()
    assert np.abs(noisy - ideal).max() > 1e-3


def test_noise_needs_the_density_matrix_simulator():
    with pytest.raises(ConfigError, match="options.noise.*braket_dm"):
        BraketProvider(local_profile("default", noise=True))


def test_unknown_option_names_the_file_and_field():
    with pytest.raises(ConfigError, match=r"braket-test.toml: field 'options.local_mod'"):
        BraketProvider(local_profile(local_mod="circuits"))


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """A machine with no AWS configuration at all."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return tmp_path


@pytest.mark.parametrize("name", AWS_PROFILES)
def test_aws_profiles_say_why_they_are_unusable_without_credentials(no_aws, name):
    status = availability(find_profile(name))
    assert not status.usable and "no AWS credentials" in status.reason and "aws configure" in status.reason


def test_credentials_from_the_environment_or_files_make_aws_usable(no_aws, monkeypatch):
    profile = find_profile("braket-iqm-garnet")
    (no_aws / "credentials").write_text("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n")
    assert availability(profile).usable
    (no_aws / "credentials").unlink()
    (no_aws / "config").write_text("[profile research]\nrole_arn = arn:aws:iam::1:role/r\n"
                                   "source_profile = default\n")
    monkeypatch.setenv("AWS_PROFILE", "research")
    assert availability(profile).usable
    monkeypatch.setenv("AWS_PROFILE", "missing")
    assert "missing" in availability(profile).reason


def test_cli_lists_braket_profiles_and_refuses_aws_ones_in_one_line(no_aws, capsys):
    code, out, _ = run_cli(capsys, "providers", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and rows["braket-local"]["usable"] and rows["braket-local-dm"]["usable"]
    assert all(not rows[name]["usable"] for name in AWS_PROFILES)
    code, _, err = run_cli(capsys, "sample", "--provider", "braket-ionq-forte", "--qubits", "2")
    assert code == 2 and err.count("\n") == 1 and "no AWS credentials" in err


@pytest.mark.parametrize("name", ["braket-local", "braket-local-dm"])
def test_cli_samples_on_local_braket_profiles(capsys, name):
    code, out, _ = run_cli(capsys, "sample", "--provider", name, "--qubits", "2", "--layers", "1",
                           "--batch", "3", "--shots", "20", "--json")
    report = json.loads(out)
    assert code == 0 and report["provider"] == name and len(report["marginals"]) == 3
