"""Typed configuration: provider profiles (providers/*.toml) and their loading.

Every model forbids unknown fields, so a typo in a profile is an error that names the file and
the field instead of a silently ignored setting.

Where profiles are found, first folder winning for a name:

    $QHIL_PROVIDERS_PATH      folders separated by os.pathsep
    ~/.config/qhil/providers  the user folder ($XDG_CONFIG_HOME/qhil/providers where that is set)
    providers/                the shipped profiles (`DATA_ROOT / "providers"`)

The shipped profiles and calibration snapshots live in the top-level `providers/` and
`calibration/` folders of the source tree (the design card's layout, where users read and copy
them); the wheel carries them as package data in `qhil/data/` (copied there by setup.py's
build step). `DATA_ROOT` is whichever of the two this installation has.

A profile's relative `calibration` path is looked up next to the profile's folder first
(`<folder>/../calibration/x.toml` for a folder laid out like the shipped one), then in the
current directory, then among the shipped snapshots (`DATA_ROOT / "calibration"`). A relative
path may not leave the folder it is looked up in (`../`, or a link out of it): a profile from
elsewhere cannot make qhil read any file it names. A user who means a file elsewhere gives its
absolute path.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qhil.errors import ConfigError, UnknownProviderError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib



def _data_root() -> Path:
    """The folder holding the shipped providers/ and calibration/: the wheel's package data, or
    the top level of a source checkout (editable installs and PYTHONPATH runs)."""
    packaged = Path(str(resources.files("qhil") / "data"))
    if (packaged / "providers").is_dir():
        return packaged
    return Path(__file__).resolve().parents[1]


DATA_ROOT = _data_root()
"""The shipped data: DATA_ROOT / "providers" (profiles), DATA_ROOT / "calibration" (snapshots)."""


class StrictModel(BaseModel):
    """Base for every config model: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(StrictModel):
    """What the device accepts; requests are checked against these before anything is spent."""

    max_qubits: int = Field(description="Qubits the device offers.", ge=1)
    min_shots: int = Field(1, description="Fewest shots per circuit the device accepts.", ge=1)
    max_shots: int = Field(100_000, description="Most shots per circuit the device accepts.", ge=1)
    max_circuits_per_job: int = Field(
        10_000, description="Most circuits one job (task, PUB set, program set) may carry.", ge=1)
    supports_exact: bool = Field(False, description="Whether shots=None (exact marginals) works.")


class RetrySettings(StrictModel):
    """How transient failures are retried (one place: qhil.execution.retry)."""

    max_attempts: int = Field(5, description="Attempts per submission, the first included.", ge=1)
    initial_backoff_s: float = Field(1.0, description="First backoff, doubled each retry.", ge=0)
    max_backoff_s: float = Field(60.0, description="Ceiling of one backoff.", ge=0)
    jitter_s: float = Field(1.0, description="Uniform random jitter added to each backoff.", ge=0)


class ProviderProfile(StrictModel):
    """One device: what it is, what it accepts, and how qhil talks to it."""

    name: str = Field(description="Profile name, used as --provider NAME.")
    kind: str = Field(description="Adapter: local, braket, ibm, aer or chaos.")
    device: str = Field("", description="Device id: ARN, backend name or simulator name.")
    description: str = Field("", description="One line shown by `qhil providers`.")
    calibration: str | None = Field(
        None, description="Calibration snapshot: absolute, or relative to the profile's folder's "
                          "parent, the current directory or the package's data (in that order).")
    limits: Limits = Field(description="Device limits.")
    retry: RetrySettings = Field(default_factory=RetrySettings, description="Retry policy.")
    max_jobs_in_flight: int = Field(4, description="Concurrent jobs qhil keeps open.", ge=1)
    options: dict[str, Any] = Field(
        default_factory=dict, description="Adapter-specific settings (see the adapter).")
    source_path: str = Field("", description="File the profile was read from (set by the loader).")


def user_providers_dir() -> Path:
    """The user's profile folder: $XDG_CONFIG_HOME/qhil/providers, else ~/.config/qhil/providers."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "qhil" / "providers"


def profile_dirs() -> list[Path]:
    """Where profiles are looked up: $QHIL_PROVIDERS_PATH entries, the user folder, the package."""
    extra = [Path(p) for p in os.environ.get("QHIL_PROVIDERS_PATH", "").split(os.pathsep) if p]
    return [*extra, user_providers_dir(), DATA_ROOT / "providers"]


MAX_TOML_BYTES = 1 << 20
"""The largest config, profile or calibration file read (each is a few kilobytes): a bigger one
is refused before tomllib spends time and memory on it."""


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; a syntax error, an oversized or too deeply nested file becomes a
    ConfigError naming the file."""
    try:
        with open(path, "rb") as f:
            return tomllib.loads(_bounded_text(f, path))
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply to read; a qhil file "
                          f"nests a few levels at most") from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder; pass a .toml file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 "
                          f"TOML") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _bounded_text(f, path: Path) -> str:
    """The file's text, if it is at most MAX_TOML_BYTES (UnicodeDecodeError for bad bytes)."""
    data = f.read(MAX_TOML_BYTES + 1)
    if len(data) > MAX_TOML_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_TOML_BYTES:,} bytes; qhil's TOML files are a "
                          f"few kilobytes: is it the right file?")
    return data.decode("utf-8")


def validation_message(path: Path, exc: ValidationError) -> str:
    """One line naming the file, the field and what is wrong with it."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{path}: field '{where}': {err['msg']}"


def load_profile(path: str | Path) -> ProviderProfile:
    """Load and validate one profile file."""
    path = Path(path)
    data = load_toml(path)
    if isinstance(data.get("calibration"), str):
        data["calibration"] = str(_beside_profile(data["calibration"], path))
    try:
        return ProviderProfile(**data, source_path=str(path))
    except ValidationError as exc:
        raise ConfigError(validation_message(path, exc)) from None


def profile_names() -> list[str]:
    """Every profile name found, first directory winning."""
    names: dict[str, None] = {}
    for folder in profile_dirs():
        for path in sorted(folder.glob("*.toml")):
            names.setdefault(path.stem, None)
    return list(names)


def find_profile(name_or_path: str) -> ProviderProfile:
    """A profile by name (providers/NAME.toml) or by path to a .toml file."""
    if name_or_path.endswith(".toml") or os.sep in name_or_path:
        return load_profile(name_or_path)
    for folder in profile_dirs():
        candidate = folder / f"{name_or_path}.toml"
        if candidate.exists():
            return load_profile(candidate)
    known = ", ".join(profile_names()) or "none"
    raise UnknownProviderError(
        f"unknown provider '{name_or_path}'; known: {known} (or pass a path to a profile .toml)")


def _beside_profile(calibration: str, profile_path: Path) -> Path | str:
    """The calibration file in the profile's own tree, made absolute; else the text unchanged.
    A relative path that leaves its folder is a ConfigError."""
    if Path(calibration).is_absolute():
        return calibration
    folder = profile_path.resolve().parent
    _refuse_escape(calibration, profile_path, (folder.parent, folder, Path.cwd(), DATA_ROOT))
    for base in (folder.parent, folder):
        if (base / calibration).is_file():
            return base / calibration
    return calibration


def _refuse_escape(calibration: str, profile_path: Path, bases: tuple[Path, ...]) -> None:
    """A relative calibration path must stay inside each folder it is looked up in."""
    parts = Path(os.path.normpath(calibration)).parts
    leaves = parts[:1] == ("..",) or any(
        (base / calibration).exists() and not _inside(base / calibration, base) for base in bases)
    if leaves:
        raise ConfigError(f"{profile_path}: calibration '{calibration}' leads out of the "
                          f"profile's folder; keep the snapshot beside the profile (calibration/"
                          f"NAME.toml) or, if you trust this profile, give an absolute path")


def _inside(path: Path, base: Path) -> bool:
    try:
        path.resolve().relative_to(base.resolve())
    except ValueError:
        return False
    return True


def resolve_path(path: str) -> Path:
    """A calibration path: absolute, else relative to the current directory, else a snapshot
    shipped in the package; a path found nowhere is returned relative to the current directory."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    shipped = DATA_ROOT / p
    return shipped if shipped.is_file() else p
