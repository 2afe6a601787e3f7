"""tests/conftest.py's hermetic_environment: what one test leaves, or this machine has set, the
next test does not see (the two tests below run in file order)."""

import os

from qhil.config import user_providers_dir
from qhil.progress import is_quiet, set_quiet


def test_a_test_leaves_quiet_on():
    set_quiet(True)  # what an in-process `qhil ... --quiet` does, for the rest of the process
    assert is_quiet()


def test_the_next_test_starts_loud_without_credentials_or_user_profiles(tmp_path_factory):
    assert not is_quiet()
    assert not any(name.startswith(("AWS_ACCESS", "QISKIT_", "QHIL_PROVIDERS")) for name in os.environ)
    assert user_providers_dir().is_relative_to(tmp_path_factory.getbasetemp())
