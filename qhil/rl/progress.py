"""Progress of a training run: a one-line bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressPrinter:
    """Callable taking the loop's progress dict; plain-text lines every `every_s` when not a TTY."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 10.0):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s
        self.last_line = 0.0
        self.start = time.perf_counter()
        self.first_step: int | None = None
        self.warned: str | None = None

    def __call__(self, p: dict) -> None:
        now = time.perf_counter()
        if self.first_step is None:
            self.first_step = p["step"]
        if not self.tty and now - self.last_line < self.every_s and p["step"] < p["steps"]:
            return
        self.last_line = now
        self.warn(p.get("warning"))
        text = self.line(p, (p["step"] - self.first_step) / max(now - self.start, 1e-9))
        if self.tty:
            self.stream.write("\r" + text[:160].ljust(160))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def warn(self, warning: str | None) -> None:
        """A new warning gets a line of its own (once); the bar then carries a short flag."""
        if warning and warning != self.warned:
            self.stream.write(("\n" if self.tty else "") + f"warning: {warning}\n")
            self.warned = warning

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    @staticmethod
    def line(p: dict, steps_per_s: float) -> str:
        done = p["step"] / max(p["steps"], 1)
        bar = "#" * int(20 * min(done, 1.0))
        ret = "-" if p["recent_return"] is None else f"{p['recent_return']:.1f}"
        return (f"[{bar:<20}] {p['step']}/{p['steps']} steps  {steps_per_s:.1f} steps/s  "
                f"updates {p['updates']}  return {ret}  shots {p['shots']}  "
                f"${p['cost_usd']:.2f}  jobs in flight {p['jobs_in_flight']}"
                + ("  LOW GRADIENT FIDELITY" if p.get("warning") else ""))
