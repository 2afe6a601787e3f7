"""report.html rendered by headless Debian Chromium: the tables and the embedded plots show.

Chromium comes from `make chromium` (run by `make test`): apt-get install chromium.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from qhil.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTH, HEIGHT = 1200, 2600


def chromium(tmp_path: Path, page: Path, *action: str) -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed; run `make chromium` (apt-get install chromium)")
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *action,
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(tmp_path: Path, page: Path, name: str) -> np.ndarray:
    png = tmp_path / f"{name}.png"
    chromium(tmp_path, page, f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}")
    return imread(png)[..., :3]


def inked(image: np.ndarray) -> np.ndarray:
    """Per pixel: not (near) white."""
    return (image < 0.94).any(axis=-1)


def colourful(image: np.ndarray) -> np.ndarray:
    """Per pixel: strongly coloured (matplotlib's blue and orange; the tables are grey and pale)."""
    return image.max(axis=-1) - image.min(axis=-1) > 0.35


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "out"
    with pytest.raises(SystemExit) as done:
        main(["compare", "--providers", "local,local-noisy", "--qubits", "3", "--layers", "2",
              "--batch", "3", "--shots", "300", "--repeats", "2", "--out", str(out)])
    assert done.value.code == 0
    return out


def test_dom_has_the_tables_and_three_embedded_plots(report_dir, tmp_path):
    dom = chromium(tmp_path, report_dir / "report.html", "--dump-dom")
    assert dom.count("<table>") == 4
    plots = re.findall(r'<img id="plot-([a-z_]+)"[^>]*src="data:image/png;base64,', dom)
    assert plots == ["latency", "fidelity_price", "run_cost"]
    assert "http://" not in dom and "https://" not in dom  # self-contained


def test_screenshot_shows_tables_and_plots(report_dir, tmp_path):
    page = report_dir / "report.html"
    full = screenshot(tmp_path, page, "full")
    assert full.shape[:2] == (HEIGHT, WIDTH)
    header_blue = (np.abs(full - np.array([0xE8, 0xEE, 0xF6]) / 255).max(axis=-1) < 0.02)
    assert header_blue.sum() > 2000  # the tables' header rows are drawn
    stripped = tmp_path / "no-plots.html"
    stripped.write_text(re.sub(r"<img [^>]*>", "", page.read_text()))
    without = screenshot(tmp_path, stripped, "no-plots")
    extra_ink = inked(full).sum() - inked(without).sum()
    assert extra_ink > 0.004 * WIDTH * HEIGHT  # axes, boxes, labels of the three plots
    assert colourful(full).sum() > 300 and colourful(without).sum() == 0  # plot markers, bars
    rows_with_ink = inked(full).any(axis=1).sum()
    assert rows_with_ink > 0.5 * HEIGHT
