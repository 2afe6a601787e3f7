"""Where profiles and calibration snapshots come from: the package, the user folder, a path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import qhil
from qhil.calibration import load_calibration
from qhil.config import DATA_ROOT, find_profile, profile_dirs, profile_names, user_providers_dir
from qhil.errors import UnknownProviderError
from tests.test_cli import run_cli

USER_PROFILE = ('name = "{name}"\nkind = "local"\ndevice = "embedded"\n'
                'calibration = "calibration/mine.toml"\n[limits]\nmax_qubits = 7\n')
USER_CALIBRATION = 'device = "embedded"\nsource = "a test"\ndate = "2026-12-01"\n' \
                   '[errors]\ngate_2q = 0.125\n'


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("QHIL_PROVIDERS_PATH", raising=False)
    return tmp_path


def user_tree(root: Path, name: str) -> Path:
    """A user folder laid out like the package's: providers/NAME.toml, calibration/mine.toml."""
    (root / "providers").mkdir(parents=True, exist_ok=True)
    (root / "calibration").mkdir(exist_ok=True)
    (root / "calibration" / "mine.toml").write_text(USER_CALIBRATION)
    path = root / "providers" / f"{name}.toml"
    path.write_text(USER_PROFILE.format(name=name))
    return path


def test_profiles_and_snapshots_ship_in_the_top_level_folders(home, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # nowhere near the source tree
    assert DATA_ROOT == Path(qhil.__file__).resolve().parents[1]  # a source checkout: the design
    assert (DATA_ROOT / "providers" / "local.toml").is_file()     # card's providers/, calibration/
    profile = find_profile("ibm-fake-torino")
    assert Path(profile.source_path).parent == DATA_ROOT / "providers"
    assert Path(profile.calibration) == DATA_ROOT / "calibration" / "ibm-fake-torino.toml"
    assert load_calibration(profile.calibration).device


def test_lookup_order_env_then_user_folder_then_package(home, monkeypatch, tmp_path):
    extra = tmp_path / "extra"
    monkeypatch.setenv("QHIL_PROVIDERS_PATH", str(extra))
    assert profile_dirs() == [extra, home / ".config" / "qhil" / "providers",
                              DATA_ROOT / "providers"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_providers_dir() == tmp_path / "xdg" / "qhil" / "providers"


def test_user_folder_profile_shadows_the_shipped_one_with_its_own_calibration(home):
    user_tree(home / ".config" / "qhil", "local")
    profile = find_profile("local")
    assert profile.limits.max_qubits == 7
    assert load_calibration(profile.calibration).errors.gate_2q == 0.125
    assert profile_names().count("local") == 1


def test_environment_folder_adds_a_device(home, monkeypatch, tmp_path):
    user_tree(tmp_path / "team", "team-device")
    monkeypatch.setenv("QHIL_PROVIDERS_PATH", str(tmp_path / "team" / "providers"))
    assert "team-device" in profile_names()
    assert find_profile("team-device").calibration == str(tmp_path / "team" / "calibration"
                                                          / "mine.toml")


def test_unknown_name_lists_the_shipped_profiles(home):
    with pytest.raises(UnknownProviderError, match="known: .*local"):
        find_profile("no-such-device")


def test_calibrate_writes_into_the_current_directory_by_default(home, monkeypatch, tmp_path,
                                                                capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "calibrate", "--provider", "local", "--qubits", "2",
                           "--layers", "1", "--circuits", "1,2", "--shots", "10,20",
                           "--repeats", "1", "--json")
    written = Path(json.loads(out)["out"])
    assert code == 0 and written == tmp_path / "local-measured.toml" and written.is_file()
    assert not [p for folder in ("providers", "calibration")
                for p in (DATA_ROOT / folder).glob("*-measured.toml")]
