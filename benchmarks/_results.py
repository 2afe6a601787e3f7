"""Where a benchmark writes its results: never over the committed benchmarks/results/ unless asked.

Every benchmark takes, besides its own flags:
    --results-dir DIR    write the .json/.md results into DIR (default: runs/benchmarks/)
    --update-results     write them into benchmarks/results/ (the committed figures)
`results_dir()` takes both flags out of sys.argv (so each script's own argparse never sees them),
creates the folder and returns it; call it at import, before the script parses its arguments.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "benchmarks" / "results"
DEFAULT = ROOT / "runs" / "benchmarks"


def results_dir(argv: list[str] | None = None) -> Path:
    """The results folder the command line asks for; the flags are removed from `argv`."""
    argv = sys.argv if argv is None else argv
    chosen = DEFAULT
    if "--update-results" in argv:
        argv.remove("--update-results")
        chosen = COMMITTED
    for i, word in enumerate(argv):
        if word.startswith("--results-dir"):
            value = word.split("=", 1)[1] if "=" in word else argv[i + 1]
            del argv[i:i + (1 if "=" in word else 2)]
            chosen = Path(value).resolve()
            break
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def machine_load() -> list[float]:
    """The 1-, 5- and 15-minute load averages, rounded: stated beside every timed figure."""
    import os

    return [round(x, 2) for x in os.getloadavg()]
