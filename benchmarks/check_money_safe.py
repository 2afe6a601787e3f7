"""Issue 12's money-safety targets, measured on this machine with real subprocesses:

    PYTHONPATH=. .venv/bin/python benchmarks/check_money_safe.py

- on the billing chaos profile `chaos-faults`, sample / evaluate / compare / qtrl without --yes and
  without a terminal exit 2 and write no ledger or report (spend $0); with --yes and a budget each
  spends at most the budget (read back from its ledger or report);
- `qtrl --agents 1000` exits 2 (seconds taken printed);
- SIGKILL of a qtrl parent with 2 agents: how long until no process of that run is left.
Not a speed benchmark: it prints the figures and exits 1 if a target is missed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from qhil.execution.ledger import Ledger
from tests.commands.conftest import build_world

SAMPLE = ["--qubits", "2", "--layers", "1", "--batch", "2", "--shots", "10"]
QTRL = ["--env", "CartPole-v1", "--blocks", "2", "--episodes", "2"]
MISSED: list[str] = []


def qhil(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qhil", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def spent(path: Path) -> Decimal:
    with Ledger(path) as ledger:
        return ledger.totals().cost_usd


def check(name: str, ok: bool, line: str) -> None:
    print(f"{name}: {line}{'' if ok else '  <- MISSED'}")
    if not ok:
        MISSED.append(name)


def without_yes(w: Path) -> None:
    ledgers = [w / "s.sqlite", w / "goodrun" / "evaluations" / "ledger.sqlite", w / "q" / "ledger.sqlite"]
    for name, argv in {
        "sample": ["sample", "--provider", "chaos-faults", *SAMPLE, "--ledger", str(w / "s.sqlite")],
        "evaluate": ["evaluate", str(w / "goodrun"), "--episodes", "1", "--provider", "chaos-faults"],
        "compare": ["compare", "--providers", "chaos-faults", *SAMPLE, "--repeats", "1",
                    "--out", str(w / "c")],
        "qtrl": ["qtrl", *QTRL, "--provider", "chaos-faults", "--shots", "10", "--out", str(w / "q")],
    }.items():
        code = qhil(*argv).returncode
        written = [p for p in ledgers if p.exists()] + ([w / "c"] if (w / "c").exists() else [])
        check(f"no --yes {name}", code == 2 and not written,
              f"exit {code}, ledgers or reports written: {len(written)} ($0 spent)")


def with_yes(w: Path) -> None:
    runs = {
        "sample": (["sample", "--provider", "chaos-faults", *SAMPLE, "--ledger", str(w / "s.sqlite")],
                   "1", lambda: spent(w / "s.sqlite"), 0),
        "evaluate": (["evaluate", str(w / "goodrun"), "--episodes", "1", "--provider", "chaos-faults"],
                     "70", lambda: spent(w / "goodrun" / "evaluations" / "ledger.sqlite"), 0),
        "compare": (["compare", "--providers", "chaos-faults", *SAMPLE, "--repeats", "1",
                     "--out", str(w / "c")], "2", lambda: Decimal(json.loads(
                         (w / "c" / "report.json").read_text())["providers"][0]["probe_cost_usd"]), 0),
        "qtrl": (["qtrl", *QTRL, "--provider", "chaos-faults", "--shots", "10", "--out", str(w / "q")],
                 "1", lambda: spent(w / "q" / "ledger.sqlite"), 0),
        "qtrl --stop-at-budget": (["qtrl", *QTRL, "--provider", "chaos-faults", "--shots", "10",
                                   "--stop-at-budget", "--out", str(w / "q2")], "0.4",
                                  lambda: spent(w / "q2" / "ledger.sqlite"), 3),
    }
    for name, (argv, budget, read, want) in runs.items():
        code = qhil(*argv, "--yes", "--budget-usd", budget).returncode
        paid = read()
        check(f"--yes {name}", code == want and 0 < paid <= Decimal(budget),
              f"exit {code}, spent ${paid} of a ${budget} budget")


def marked(mark: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if mark.encode() in f.read():
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


def agents(w: Path) -> None:
    started = time.monotonic()
    r = qhil("qtrl", *QTRL, "--agents", "1000", "--out", str(w / "q3"))
    took = time.monotonic() - started
    check("qtrl --agents 1000", r.returncode == 2 and took < 5,
          f"exit {r.returncode} in {took:.2f} s: {r.stderr.strip()}")
    mark, out = f"qhil-check-{os.getpid()}", w / "q4"
    parent = subprocess.Popen([sys.executable, "-m", "qhil", "qtrl", *QTRL, "--agents", "2",
                               "--episodes", "100000", "--out", str(out)],
                              env={**os.environ, "QHIL_MARK": mark}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    while not (out / "agents" / "rank-1.json").is_file():
        time.sleep(0.2)
    before, killed = len(marked(mark)), time.monotonic()
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    while marked(mark) and time.monotonic() - killed < 30:
        time.sleep(0.05)
    left = marked(mark)
    check("SIGKILL of the qtrl parent", not left and time.monotonic() - killed < 10,
          f"{before} processes of the run before, {len(left)} left "
          f"{time.monotonic() - killed:.2f} s after")


def main() -> int:
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average)")
    world = build_world(Path(tempfile.mkdtemp(prefix="qhil-money-")))
    without_yes(world)
    with_yes(world)
    agents(world)
    print("missed:", ", ".join(MISSED) or "none")
    return 1 if MISSED else 0


if __name__ == "__main__":
    sys.exit(main())
