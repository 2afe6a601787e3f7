"""The package as a user gets it: build the wheel, install it into a fresh virtual environment
outside the repository, and run `qhil providers`, `qhil sample` and a 200-step `qhil train`.

Nothing is downloaded: the wheel is built without build isolation (the running interpreter's
setuptools) and installed with --no-deps; the new environment then reaches the dependencies
already installed here through a .pth line, *after* its own site-packages, so `import qhil`
finds the installed wheel and never this source tree (cwd, HOME and PYTHONPATH point elsewhere).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("qhil", "providers", "calibration", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def build_wheel(tmp: Path) -> Path:
    """The wheel of a clean copy of the sources (no build/ or egg-info left in the tree)."""
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                         if (ROOT / name).is_dir() else {}))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp / "dist"), str(src)], tmp, dict(os.environ))
    (wheel,) = (tmp / "dist").glob("qhil-*.whl")
    return wheel


def fresh_env(tmp: Path, wheel: Path) -> tuple[Path, dict[str, str]]:
    """A new venv with the wheel installed, reaching this interpreter's packages after its own."""
    target = tmp / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QHIL_", "VIRTUAL"))}
    env.update(HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "home" / ".config"))
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)], tmp, env)
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    tmp, env).strip())
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_qhil_test_deps.pth").write_text("\n".join(sorted(here)) + "\n")
    return target, env


@pytest.mark.slow
def test_the_installed_wheel_ships_its_profiles_and_runs(tmp_path):
    wheel = build_wheel(tmp_path)
    target, env = fresh_env(tmp_path, wheel)
    work = tmp_path / "work"
    work.mkdir()
    qhil = str(target / "bin" / "qhil")
    where = run([str(target / "bin" / "python"), "-c", "import qhil; print(qhil.__file__)"],
                work, env)
    package = Path(where.strip()).parent
    assert package.is_relative_to(target), f"imported {where} instead of the wheel"
    before = sorted(p.relative_to(package) for p in package.rglob("*") if "__pycache__" not in p.parts)
    assert Path("data/providers/local.toml") in before  # the top-level folders, as package data
    assert Path("data/calibration/ibm-fake-torino.toml") in before

    rows = {r["name"]: r for r in json.loads(run([qhil, "providers", "--json"], work, env))}
    assert rows["local"]["usable"] and "braket-iqm-emerald" in rows
    sample = json.loads(run([qhil, "sample", "--provider", "local", "--qubits", "3", "--batch", "4",
                             "--shots", "50", "--json"], work, env))
    assert sample["provider"] == "local" and len(sample["marginals"]) == 4
    run([qhil, "train", "--steps", "200", "--out", "run"], work, env, timeout=600)

    summary = json.loads((work / "run" / "summary.json").read_text())
    assert summary["steps"] == 200 and (work / "run" / "ledger.sqlite").is_file()
    after = sorted(p.relative_to(package) for p in package.rglob("*") if "__pycache__" not in p.parts)
    assert after == before, "a command wrote into the installed package"
    assert run([qhil, "--version"], work, env).strip() == "qhil 0.1.0"
