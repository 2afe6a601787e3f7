"""The documentation: every ```python block of README.md and docs/ runs as written (in a scratch
folder beside the configs), and the site builds offline with warnings as errors, its generated
figures agreeing with the tool."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCKS = list(dict.fromkeys(  # a block that two pages share runs once
    (block, page.relative_to(ROOT).as_posix()) for page in PAGES
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)))


def test_the_pages_have_python_blocks():
    assert len(BLOCKS) >= 4  # the tour, the Python API, the budget snippet, the primitives


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[f"{p}-{i}" for i, (_, p) in enumerate(BLOCKS)])
def test_python_block_runs(index, tmp_path, monkeypatch, capsys):
    block, page = BLOCKS[index]
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QHIL_QUIET", "1")
    exec(compile(block, f"{page} python block", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip()  # every block prints what it shows
    assert os.getcwd() == str(tmp_path)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs", reason="needs qhil[docs]")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_site_builds_offline_with_warnings_as_errors(site):
    assert (site / "index.html").is_file() and (site / "reference" / "api.html").is_file()
    assert not list(site.rglob("hooks.py"))


def test_the_cost_table_is_what_qhil_estimate_says(site):
    from qhil.config import find_profile
    from qhil.cost import DeviceModel, Workload, estimate
    from qhil.cost.report import usd

    workload = Workload.from_train_config(ROOT / "configs" / "humanoid.toml")
    device = DeviceModel.from_profile(find_profile("braket-iqm-garnet"))
    cost = estimate(workload, device).methods["parameter-shift"].cost_usd
    assert usd(cost) in (site / "tutorials" / "cost.html").read_text()


def test_the_command_reference_has_every_command(site):
    from qhil.cli import build_parser

    page = (site / "reference" / "cli.html").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    assert all(f'id="qhil-{name}"' in page for name in commands)
