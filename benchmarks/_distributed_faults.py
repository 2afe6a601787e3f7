"""bench_distributed.py --faults: an explorer's worker SIGKILLed 5 times during a billing run.

Provider: `chaos-faults` (throttled and timed-out submits, lost and duplicated results, priced
$0.30 per task + $0.00145 per shot) with its service keeping its jobs on disk apart from the
workers (`service_dir`, tests/reference.spooled_billing_profile), as a cloud QPU does: a killed
explorer's job in flight is re-attached from its ledger. The run is `qhil train` in this process;
a thread SIGKILLs explorer 0's worker process (its pid from Ray's actor table) each time explorer
0 has delivered another `every` steps, after Ray has restarted it. Checks, each against the
record of its own:
    bought twice        the chaos service's own store (one file per job it ran): no token and no
                        request run twice, and its jobs are exactly the ledgers' paid jobs
    transitions lost    the journals: every explorer's journal steps are in the run's journal
                        (its steps = the config's), one DONE job per explorer step
    budget exact        every ledger passes `qhil ledger --verify`; the ledgers' dollars equal
                        the summary's and the service's jobs priced by the calibration; <= the cap
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path

import tomllib
from _train_common import ROOT, RUNS

from qhil import cli
from qhil.adapters.chaos_spool import JobSpool
from qhil.execution.ledger import Ledger
from tests.reference import spooled_billing_profile

BUDGET_USD = 1000
TINY = """env = "Pendulum-v1"
provider = "{provider}"
block = "pqc"
steps = {steps}
[quantum]
qubits = 2
layers = 1
shots = 20
[td3]
batch_size = 32
learning_starts = 64
[qtdnn]
n_tiny_batches = 1
tiny_batch_size = 16
fidelity_every = 0
[network]
pre_hidden = [16]
post_hidden = [16]
critic_hidden = [32]
[eval]
episodes = 1
[loop]
learner_threads = 1
log_every_steps = 50
max_updates_per_transition = 1.0
[distributed]
explorers = 2
"""


class Killer:
    """SIGKILLs explorer 0's worker each time it has delivered `every` more steps."""

    def __init__(self, kills: int, every: int):
        self.kills, self.every, self.done, self.pids, self.at_s = kills, every, [], [], []

    def watch(self, fleet) -> None:
        threading.Thread(target=self._run, args=(fleet,), daemon=True).start()

    def _run(self, fleet) -> None:
        for n in range(1, self.kills + 1):
            while fleet.delivered[0] < n * self.every:
                time.sleep(0.05)
            pid = worker_pid(fleet.handles[0])
            os.kill(pid, signal.SIGKILL)
            self.at_s.append(time.time())
            self.done.append(fleet.delivered[0])
            self.pids.append(pid)


def worker_pid(handle) -> int:
    """The process of a live actor (after a restart: the new one)."""
    import ray

    while True:
        row = ray._private.state.actors(handle._actor_id.hex())
        if row.get("State") == "ALIVE" and row.get("Pid"):
            return int(row["Pid"])
        time.sleep(0.05)


def train(run: Path, config: Path, killer: Killer) -> int:
    """`qhil train` in this process, with the killer watching its explorer actors."""
    from qhil.distributed import fleet as fleet_module

    started = fleet_module.Fleet.start

    def start(*args, **kwargs):
        fleet = started(*args, **kwargs)
        killer.watch(fleet)
        return fleet

    fleet_module.Fleet.start = start
    try:
        cli.main(["train", "--config", str(config), "--out", str(run), "--yes",
                  "--budget-usd", str(BUDGET_USD)])
    except SystemExit as stop:
        return int(stop.code or 0)
    finally:
        fleet_module.Fleet.start = started
    return 0


def count_steps(path: Path) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
    finally:
        db.close()


def verify_ledgers(run: Path) -> dict[str, int]:
    """`qhil ledger --verify` on every ledger of the run: its exit code."""
    codes = {}
    for path in sorted(run.glob("ledger*.sqlite")):
        try:
            cli.main(["ledger", "--verify", str(path)])
            codes[path.name] = 0
        except SystemExit as stop:
            codes[path.name] = int(stop.code or 0)
    return codes


def paid_entries(run: Path) -> list:
    entries = []
    for path in sorted(run.glob("ledger*.sqlite")):
        with Ledger(path) as ledger:
            entries += [e for e in ledger.entries() if e.billed]
    return entries


def price_usd(shots: int) -> Decimal:
    data = tomllib.loads((ROOT / "calibration" / "chaos-priced.toml").read_text())["pricing"]
    return Decimal(data["per_task_usd"]) + shots * Decimal(data["per_shot_usd"])


def bought_twice(run: Path, service: Path) -> dict:
    """The service's own store against the ledgers' paid jobs."""
    spooled = JobSpool(service).jobs()
    tokens = [j.token for j in spooled]
    paid = paid_entries(run)
    return {"service_jobs": len(spooled), "ledger_paid_jobs": len(paid),
            "tokens_run_twice": len(tokens) - len(set(tokens)),
            "requests_run_twice": len(spooled) - len({j.request_hash for j in spooled}),
            "service_jobs_equal_ledger_jobs": {j.job_id for j in spooled} == {e.job_id for e in paid},
            "service_usd": str(sum((price_usd(j.request.shots) for j in spooled), Decimal(0)))}


def in_flight_at_kills(run: Path, kills_at_s: list[float]) -> dict:
    """Explorer 0's jobs a kill caught between their submission and their fetch: each is DONE
    once (re-attached from the service by the restarted worker) or LOST unbilled (the kill came
    before the service took it; asked again)."""
    db = sqlite3.connect(f"file:{run / 'ledger-explorer-0.sqlite'}?mode=ro", uri=True)
    rows = db.execute("SELECT submit_called_at, fetched_us, status, billed FROM jobs").fetchall()
    db.close()
    caught = [(status, billed) for start, fetched_us, status, billed in rows if start is not None
              and any(start <= t and (fetched_us is None or t <= start + fetched_us / 1e6)
                      for t in kills_at_s)]
    return {"caught_in_flight": len(caught), "done_billed": sum(b for _, b in caught),
            "unbilled": sum(not b for _, b in caught)}


def transitions(run: Path, summary: dict) -> dict:
    """The journals: explorers' steps all in the run's journal, one DONE job per step."""
    per = [count_steps(run / f"transitions-explorer-{k}.sqlite") for k in range(2)]
    done = []
    for k in range(2):
        with Ledger(run / f"ledger-explorer-{k}.sqlite") as ledger:
            done.append(sum(e.status.value == "DONE" for e in ledger.entries()))
    held = count_steps(run / "transitions.sqlite")
    return {"explorer_journal_steps": per, "explorer_done_jobs": done, "run_journal_steps": held,
            "summary_steps": summary["steps"], "lost": sum(per) - held}


def measure_faults(steps: int, kills: int, every: int) -> dict:
    base = RUNS / "distributed-faults"
    if base.exists():
        import shutil
        shutil.rmtree(base)
    base.mkdir(parents=True)
    profile = spooled_billing_profile(base / "spooled.toml", base / "service", 0.05, 0.1)
    config = base / "config.toml"
    config.write_text(TINY.format(provider=profile, steps=steps))
    killer, run = Killer(kills, every), base / "run"
    started = time.perf_counter()
    code = train(run, config, killer)
    wall_s = time.perf_counter() - started
    summary = json.loads((run / "summary.json").read_text())
    ledger_usd = sum((e.cost_usd for e in paid_entries(run)), Decimal(0))
    return {"exit_code": code, "wall_s": wall_s, "kills_at_explorer0_steps": killer.done,
            "killed_pids": killer.pids, "explorer_steps": [r["steps"] for r in summary["explorers"]],
            "bought_twice": bought_twice(run, base / "service"),
            "jobs_in_flight_at_a_kill": in_flight_at_kills(run, killer.at_s),
            "transitions": transitions(run, summary),
            "budget": {"cap_usd": BUDGET_USD, "ledgers_usd": str(ledger_usd),
                       "summary_usd": summary["hw"]["cost_usd"],
                       "ledger_verify_exit_codes": verify_ledgers(run)},
            "eval_returns": summary.get("eval_returns")}


def faults_markdown(r: dict, load: tuple) -> str:
    b, t, m = r["bought_twice"], r["transitions"], r["budget"]
    ok = all(c == 0 for c in m["ledger_verify_exit_codes"].values())
    return "\n".join([
        "# Distributed hDQNN-TD3: an explorer's worker SIGKILLed during a billing run", "",
        "Provider: chaos-faults with a spooled service (jobs kept apart from the workers, as a "
        "cloud QPU: a killed worker's job in flight is re-attached), 2 explorers, tiny Pendulum; "
        f"load (1/5/15 min) {load[0]} before, {load[1]} after", "",
        "| figure | value |", "|---|---|",
        f"| exit code | {r['exit_code']} |",
        f"| SIGKILLs of explorer 0's worker (at its step) | {len(r['kills_at_explorer0_steps'])} "
        f"({', '.join(map(str, r['kills_at_explorer0_steps']))}) |",
        f"| explorer 0's jobs a kill caught in flight: re-attached and DONE once / unbilled, asked "
        f"again | {r['jobs_in_flight_at_a_kill']['done_billed']} / "
        f"{r['jobs_in_flight_at_a_kill']['unbilled']} |",
        f"| steps per explorer / summary steps | {r['explorer_steps']} / {t['summary_steps']} |",
        f"| service's jobs / ledgers' paid jobs | {b['service_jobs']} / {b['ledger_paid_jobs']} "
        f"(same ids: {b['service_jobs_equal_ledger_jobs']}) |",
        f"| jobs bought twice (tokens / requests run twice in the service's store) | "
        f"{b['tokens_run_twice']} / {b['requests_run_twice']} |",
        f"| explorer journals' steps / run journal's steps | "
        f"{sum(t['explorer_journal_steps'])} / {t['run_journal_steps']} (lost: {t['lost']}) |",
        f"| explorers' DONE jobs / their journal steps | {t['explorer_done_jobs']} / "
        f"{t['explorer_journal_steps']} |",
        f"| dollars: ledgers / summary / service's jobs priced / cap | {m['ledgers_usd']} / "
        f"{m['summary_usd']} / {b['service_usd']} / {m['cap_usd']} |",
        f"| `qhil ledger --verify` on every ledger | {'all OK' if ok else 'FAILED'} "
        f"({len(m['ledger_verify_exit_codes'])} ledgers) |",
        f"| wall s | {r['wall_s']:.0f} |"])
