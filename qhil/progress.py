"""Progress of long phases on stderr: a bar with rate and ETA on a terminal, plain lines otherwise.

    with Bar("evaluation", total=2000, unit="steps") as bar:
        for _ in range(2000):
            ...
            bar.advance()

`set_quiet(True)` (the commands' `--quiet`, or QHIL_QUIET=1) silences every bar; `warn(text)`
always prints its one line. On a non-terminal stream a bar writes a line every `every_s` seconds
and one at the end, so logs stay short.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

WIDTH = 20


def set_quiet(quiet: bool) -> None:
    """Kept in the environment, so that agent processes spawned later are quiet too."""
    os.environ["QHIL_QUIET"] = "1" if quiet else "0"


def is_quiet() -> bool:
    return os.environ.get("QHIL_QUIET") == "1"


def warn(text: str, stream: TextIO | None = None) -> None:
    """One line `warning: text` on stderr; printed even when quiet."""
    stream = stream or sys.stderr
    stream.write(f"warning: {text}\n")
    stream.flush()


def duration_text(seconds: float | None) -> str:
    """'42s', '3m05s', '2h07m', '3.1d'; '?' when unknown."""
    if seconds is None or seconds != seconds or seconds < 0 or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{seconds / 86400:.1f}d"


class RecentRate:
    """Units per second over the last `window_s` seconds (a phase's pace changes: TD3 is fast
    before learning starts), so the ETA follows the current pace."""

    def __init__(self, window_s: float = 30.0):
        self.window_s = window_s
        self.points: deque[tuple[float, float]] = deque()

    def add(self, now: float, done: float) -> None:
        self.points.append((now, done))
        while len(self.points) > 2 and now - self.points[1][0] >= self.window_s:
            self.points.popleft()

    def per_s(self) -> float:
        if len(self.points) < 2:
            return 0.0
        (t0, d0), (t1, d1) = self.points[0], self.points[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    def eta_s(self, done: float, total: float) -> float | None:
        """Seconds left at the recent rate; None before any progress was seen."""
        rate = self.per_s()
        return max(0.0, (total - done) / rate) if rate > 0 else None


class Bar:
    """One phase with a known total; `update(done)` or `advance(n)`, then `close()`."""

    def __init__(self, label: str, total: float, unit: str = "", *, stream: TextIO | None = None,
                 every_s: float = 10.0, clock: Callable[[], float] = time.perf_counter,
                 quiet: bool | None = None, done: float = 0.0):
        self.label, self.total, self.unit = label, max(float(total), 1.0), unit
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.quiet = is_quiet() if quiet is None else quiet
        self.every_s, self.clock = every_s, clock
        self.start, self.last_line = clock(), None
        self.done = float(done)
        self.rate = RecentRate()
        self.rate.add(self.start, self.done)
        self.written_done = -1.0
        self.extra = ""

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advance(self, n: float = 1, extra: str | None = None) -> None:
        self.update(self.done + n, extra)

    def update(self, done: float, extra: str | None = None) -> None:
        self.done = float(done)
        if extra is not None:
            self.extra = extra
        now = self.clock()
        self.rate.add(now, self.done)
        due = self.last_line is None or now - self.last_line >= (0.2 if self.tty else self.every_s)
        finishing = self.done >= self.total and self.written_done < self.total
        if not self.quiet and (due or finishing):
            self._write(self.text(now))
            self.last_line, self.written_done = now, self.done

    def text(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = now - self.start
        frac = min(self.done / self.total, 1.0)
        rate, eta = self.rate.per_s(), self.rate.eta_s(self.done, self.total)
        unit = f" {self.unit}" if self.unit else ""
        bar = "#" * int(WIDTH * frac)
        return (f"{self.label}: [{bar:<{WIDTH}}] {_count(self.done)}/{_count(self.total)}{unit}  "
                f"{rate:.1f}{unit}/s  elapsed {duration_text(elapsed)}  ETA {duration_text(eta)}"
                + (f"  {self.extra}" if self.extra else ""))

    def _write(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text[:200].ljust(120))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """A final line (done, elapsed) unless quiet; ends the terminal's bar line."""
        if self.quiet:
            return
        if self.written_done != self.done:
            self._write(self.text())
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"
