"""Progress of a training run: a one-line bar with rate and ETA on a terminal, plain lines
otherwise (qhil/progress.py: the pace, the durations, `--quiet`)."""

from __future__ import annotations

import sys
import time
from typing import TextIO, TypedDict

from qhil.progress import RecentRate, duration_text, is_quiet, warn


class ProgressUpdate(TypedDict):
    """What the training loop hands its progress callback (`ProgressPrinter` below)."""

    step: int
    steps: int
    updates: int
    wall_s: float
    recent_return: float | None
    shots: int  # the run's ledger, as of the last metrics row
    cost_usd: float
    jobs_in_flight: int
    warning: str | None


class ProgressPrinter:
    """Callable taking the loop's `ProgressUpdate`; plain-text lines every `every_s` when not a TTY;
    silent (warnings aside) when quiet."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 10.0,
                 quiet: bool | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.quiet = is_quiet() if quiet is None else quiet
        self.every_s = every_s
        self.last_line = 0.0
        self.start = time.perf_counter()
        self.rate = RecentRate()
        self.warned: str | None = None
        self.finished = False

    def __call__(self, p: ProgressUpdate) -> None:
        now = time.perf_counter()
        self.rate.add(now, p["step"])
        self.warn(p.get("warning"))
        if self.quiet:
            return
        finishing = p["step"] >= p["steps"] and not self.finished
        if not finishing and now - self.last_line < (0.2 if self.tty else self.every_s):
            return
        self.last_line, self.finished = now, self.finished or finishing
        text = self.line(p, self.rate.per_s(), self.rate.eta_s(p["step"], p["steps"]))
        if self.tty:
            self.stream.write("\r" + text[:180].ljust(180))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def warn(self, warning: str | None) -> None:
        """A new warning gets a line of its own (once); the bar then carries a short flag."""
        if warning and warning != self.warned:
            if self.tty and not self.quiet:
                self.stream.write("\n")
            warn(warning, self.stream)
            self.warned = warning

    def close(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()

    @staticmethod
    def line(p: ProgressUpdate, steps_per_s: float, eta_s: float | None = None) -> str:
        done = p["step"] / max(p["steps"], 1)
        bar = "#" * int(20 * min(done, 1.0))
        ret = "-" if p["recent_return"] is None else f"{p['recent_return']:.1f}"
        return (f"train: [{bar:<20}] {p['step']}/{p['steps']} steps  {steps_per_s:.1f} steps/s  "
                f"ETA {duration_text(eta_s)}  updates {p['updates']}  return {ret}  "
                f"shots {p['shots']}  ${p['cost_usd']:.2f}  jobs in flight {p['jobs_in_flight']}"
                + ("  LOW GRADIENT FIDELITY" if p.get("warning") else ""))
