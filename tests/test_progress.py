"""qhil/progress.py: bars with rate and ETA, quiet mode, warnings; the training printer."""

from __future__ import annotations

import io

from qhil.progress import Bar, RecentRate, duration_text, is_quiet, set_quiet, warn
from qhil.rl.progress import ProgressPrinter


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_duration_text_has_units():
    assert [duration_text(s) for s in (None, 4.4, 185, 7620, 3 * 86400)] == \
        ["?", "4s", "3m05s", "2h07m", "3.0d"]


def test_recent_rate_follows_the_current_pace():
    rate = RecentRate(window_s=10)
    for t in range(0, 30):
        rate.add(float(t), t * (10.0 if t < 15 else 1.0))  # fast, then slow
    assert rate.per_s() == 1.0
    assert rate.eta_s(200, 300) == 100.0
    assert RecentRate().eta_s(0, 10) is None


def test_bar_writes_rate_and_eta_every_interval_and_at_the_end(monkeypatch):
    monkeypatch.delenv("QHIL_QUIET", raising=False)
    stream, clock = io.StringIO(), Clock()
    bar = Bar("evaluation", 100, "steps", stream=stream, clock=clock, every_s=10)
    for step in range(1, 101):
        clock.now = step * 0.5
        bar.update(step, f"{step} done")
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6  # the first update, every 10 s of 50 s, the end; close adds none
    assert lines[2].startswith("evaluation: [") and "2.0 steps/s" in lines[2] and "ETA" in lines[2]
    assert "41/100 steps" in lines[2] and "elapsed 20s" in lines[2] and "ETA 30s" in lines[2]
    assert "100/100 steps" in lines[-1] and "ETA 0s" in lines[-1] and "100 done" in lines[-1]


def test_quiet_silences_bars_and_printer_but_not_warnings(monkeypatch):
    monkeypatch.delenv("QHIL_QUIET", raising=False)
    set_quiet(True)
    try:
        assert is_quiet()
        stream = io.StringIO()
        with Bar("x", 3, stream=stream) as bar:
            bar.advance(3)
        printer = ProgressPrinter(stream=stream)
        printer({"step": 5, "steps": 5, "updates": 1, "recent_return": None, "shots": 0,
                 "cost_usd": 0.0, "jobs_in_flight": 0, "warning": "low fidelity"})
        warn("steps too few", stream)
        assert stream.getvalue() == "warning: low fidelity\nwarning: steps too few\n"
    finally:
        set_quiet(False)


def test_training_line_has_eta():
    line = ProgressPrinter.line({"step": 50, "steps": 150, "updates": 3, "recent_return": -1.5,
                                 "shots": 10, "cost_usd": 0.5, "jobs_in_flight": 1}, 10.0, 10.0)
    assert line.startswith("train: [") and "50/150 steps" in line and "ETA 10s" in line
