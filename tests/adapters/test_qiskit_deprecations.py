"""qhil's IBM calls use no deprecated qiskit-ibm-runtime API, on a runtime pyproject allows.

pyproject's filterwarnings turns a DeprecationWarning raised from a qhil module into an error for
the whole suite; these tests record every warning of the IBM paths (local testing mode, the cloud
client in each execution mode, dry runs) and fail on any deprecation the runtime raises, and on
qhil code that would hide one.
"""

from __future__ import annotations

import re
import warnings
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from qhil import HDQNNAnsatz
from qhil.adapters.qiskit_clients import CloudRuntimeClient
from qhil.adapters.qiskit_runtime import IBMProvider
from qhil.config import find_profile, tomllib
from tests.adapters.test_qiskit_runtime import _ServiceOverFakeBackend
from tests.conftest import random_controls

ROOT = Path(__file__).resolve().parents[2]
DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def runtime_deprecations(record: list[warnings.WarningMessage]) -> list[str]:
    """Deprecations the runtime raised, or that were raised against a qhil module."""
    def ours(w: warnings.WarningMessage) -> bool:
        text = str(w.message)
        return ("qiskit_ibm_runtime" in w.filename or "/qhil/" in w.filename
                or "qiskit-ibm-runtime" in text or "qiskit_ibm_runtime" in text)
    return [f"{w.filename}:{w.lineno}: {w.message}" for w in record
            if issubclass(w.category, DEPRECATIONS) and ours(w)]


def small_request(rng, batch=3):
    ansatz = HDQNNAnsatz(3, 2)
    return ansatz.request(random_controls(rng, ansatz, batch), shots=50, seed=3)


def test_local_testing_mode_calls_no_deprecated_runtime_api(rng):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with IBMProvider(find_profile("ibm-fake-torino")) as provider:
            result = provider.submit(small_request(rng)).result(timeout_s=120)
    assert result.marginals.shape == (3, 3)
    assert runtime_deprecations(record) == []


@pytest.mark.parametrize("mode", ["job", "batch", "session"])
def test_cloud_client_calls_no_deprecated_runtime_api(mode, rng):
    client = CloudRuntimeClient(_ServiceOverFakeBackend(), "ibm_torino", mode)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with IBMProvider(find_profile("ibm-torino"), client=client) as provider:
            provider.submit(small_request(rng)).result(timeout_s=120)
            provider.dry_run(small_request(rng), timeout_s=120)
    assert runtime_deprecations(record) == []


def test_the_client_side_sampler_is_what_qhil_builds():
    from qhil.adapters.qiskit_backends import fake_backend
    from qhil.adapters.qiskit_clients import sampler

    built = sampler(fake_backend("FakeManilaV2"))
    assert type(built).__module__.startswith("qiskit_ibm_runtime.executor_sampler")


def test_qhil_never_silences_warnings():
    """The old adapter hid SamplerV2's deprecation under warnings.catch_warnings; never again."""
    silencing = re.compile(r"(simplefilter|filterwarnings)\(\s*[\"']ignore")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "qhil").rglob("*.py")
                 if silencing.search(p.read_text())]
    assert offenders == []


def test_installed_runtime_is_within_the_tested_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (spec,) = [Requirement(r) for r in project["optional-dependencies"]["ibm"]
               if r.startswith("qiskit-ibm-runtime")]
    assert any(s.operator == "<" for s in spec.specifier), "the runtime needs a tested upper bound"
    assert spec.specifier.contains(version("qiskit-ibm-runtime"))


def test_suite_turns_qhil_deprecations_into_errors():
    filters = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "error::DeprecationWarning:qhil" in filters["filterwarnings"]
    with pytest.raises(DeprecationWarning):
        warnings.warn_explicit("probe", DeprecationWarning, "x.py", 1, module="qhil.adapters.x")
