"""Every adapter's [options] are typed: a misspelt or mistyped option is refused when the provider
is built, naming the profile file and the field."""

from __future__ import annotations

import pytest

from qhil.errors import ConfigError
from qhil.execution.registry import get_provider

PROFILES = {
    "local": ("local", 'device = "cpu"\nprecison = "complex128"\n', "options.precison"),
    "local-typed": ("local", 'device = "gpu"\n', "options.device"),
    "aer": ("aer", 'optimization_level = "high"\n', "options.optimization_level"),
    "ibm": ("ibm", 'local_backend = "FakeTorino"\nrestrictt = false\n', "options.restrictt"),
}


@pytest.mark.parametrize("name", PROFILES)
def test_a_bad_option_names_the_file_and_the_field(name, tmp_path):
    kind, options, field = PROFILES[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\nkind = "{kind}"\ndevice = "d"\n[limits]\nmax_qubits = 8\n'
                    f"[options]\n{options}")
    with pytest.raises(ConfigError) as exc:
        get_provider(str(path))
    assert str(path) in str(exc.value) and f"field '{field}'" in str(exc.value)


def test_shipped_profiles_still_build():
    for name in ("local", "local-noisy", "aer", "ibm-fake-torino"):
        with get_provider(name) as provider:
            assert provider.name == name
