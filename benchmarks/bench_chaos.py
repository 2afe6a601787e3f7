"""Chaos: 1,000 batches through the Dispatcher at 30% throttled submits and 5% submit timeouts.

    .venv/bin/python benchmarks/bench_chaos.py [--batches 1000] [--threads 4]

Profile providers/chaos-faults.toml (over the local simulator; also 2% lost results and 2%
duplicate deliveries), priced like a QPU by calibration/chaos-priced.toml. qhil runs with a ledger
and a dollar budget of exactly the batches' cost, from several threads; the peer is the naive loop
that resubmits on any error (what `run_batch`-style retries do). From the ledger and from the chaos
service's own count of the jobs it created: batches completed, paid jobs submitted twice, budget
spent against its limit (sampled while running). Writes benchmarks/results/bench_chaos.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

from qhil import HDQNNAnsatz, get_provider  # noqa: E402
from qhil.errors import BudgetExceededError, TransientProviderError  # noqa: E402
from qhil.execution.budget import Budget, format_usd  # noqa: E402
from qhil.execution.dispatcher import Dispatcher  # noqa: E402
from qhil.execution.ledger import Ledger  # noqa: E402
from qhil.execution.pricing import job_cost_usd  # noqa: E402

PROFILE = "chaos-faults"
RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def requests(n: int, seed: int = 0):
    ansatz = HDQNNAnsatz(3, 2)
    rng = np.random.default_rng(seed)
    for i in range(n):
        controls = rng.uniform(-np.pi, np.pi, (4, ansatz.control_dim))
        yield ansatz.request(controls, shots=20, seed=i)


class Watch:
    """Samples spent + reserved while the run goes on: the budget must never pass its limit."""

    def __init__(self, budget: Budget):
        self.budget, self.max_usd, self.stop = budget, Decimal(0), threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            used = self.budget.spent().cost_usd + self.budget.reserved().cost_usd
            self.max_usd = max(self.max_usd, used)
            time.sleep(0.001)


def run_qhil(batch_list, threads: int, ledger_path: Path) -> dict:
    with get_provider(PROFILE) as provider, Ledger(ledger_path) as ledger:
        limit = sum((job_cost_usd(provider.profile, r) for r in batch_list), Decimal(0))
        budget = Budget(usd=limit)
        dispatcher = Dispatcher(provider, ledger=ledger, budget=budget,
                                rng=np.random.default_rng(1))
        watch = Watch(budget)
        watch.thread.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda r: dispatcher.run(r, timeout_s=120), batch_list))
        wall_s = time.perf_counter() - started
        watch.stop.set()
        watch.thread.join()
        refused = refusal(dispatcher, batch_list[0])
        return summary(provider, ledger, budget, dispatcher, results, limit, watch, wall_s, refused)


def refusal(dispatcher: Dispatcher, template) -> str:
    """One more (new) batch once the budget is spent: refused before it is sent?"""
    extra = replace(template, params=template.params + 0.123, seed=10**6)
    try:
        dispatcher.submit(extra)
    except BudgetExceededError as exc:
        return str(exc)
    return "NOT REFUSED"


def summary(provider, ledger, budget, dispatcher, results, limit, watch, wall_s, refused) -> dict:
    totals, stats = ledger.totals(), ledger.latency_stats()
    return {
        "batches": len(results),
        "completed": sum(r.marginals.shape == (4, 3) for r in results),
        "paid_jobs_ledger": totals.jobs,
        "paid_jobs_service": provider.stats["accepted"],
        "submitted_twice_ledger": totals.resubmitted,
        "submitted_twice_service": sum(c - 1 for c in provider.jobs_per_request.values()),
        "faults": dict(provider.stats),
        "dispatcher": dict(dispatcher.counters),
        "budget_limit_usd": str(limit),
        "budget_spent_usd": str(budget.spent().cost_usd),
        "budget_max_committed_plus_reserved_usd": str(watch.max_usd),
        "budget_exceeded": budget.spent().cost_usd > limit or watch.max_usd > limit,
        "next_batch_refused": refused,
        "round_trip_s": {"p50": stats.round_trip_s.p50, "p95": stats.round_trip_s.p95,
                         "p99": stats.round_trip_s.p99},
        "wall_s": wall_s,
    }


def run_naive(batch_list) -> dict:
    """The peer: resubmit on any error. Counts the paid jobs that buys."""
    with get_provider(PROFILE) as provider:
        started = time.perf_counter()
        for request in batch_list:
            while True:
                try:
                    provider.submit(request).result(timeout_s=120)
                    break
                except TransientProviderError:
                    time.sleep(0.001)
        wall_s = time.perf_counter() - started
        paid = provider.stats["accepted"]
        cost = {r.digest(): job_cost_usd(provider.profile, r) for r in batch_list}
        paid_usd = sum((cost[d] * n for d, n in provider.jobs_per_request.items()), Decimal(0))
        return {"batches": len(batch_list), "paid_jobs_service": paid,
                "submitted_twice_service": paid - len(batch_list), "paid_usd": str(paid_usd),
                "wall_s": wall_s}


def usd(text: str) -> str:
    return format_usd(Decimal(text))


def markdown(q: dict, naive: dict, command: str) -> str:
    return "\n".join([
        "# Chaos: 30% throttled submits, 5% submit timeouts (+2% lost, 2% duplicated results)", "",
        f"`{command}`", "",
        "| | qhil Dispatcher + ledger + budget | naive resubmit-on-error loop |",
        "| --- | --- | --- |",
        f"| batches completed | {q['completed']} / {q['batches']} | {naive['batches']} / {naive['batches']} |",
        f"| paid jobs (service count) | {q['paid_jobs_service']} | {naive['paid_jobs_service']} |",
        f"| paid jobs submitted twice (ledger / service) | {q['submitted_twice_ledger']} / "
        f"{q['submitted_twice_service']} | - / {naive['submitted_twice_service']} |",
        f"| dollars paid | {usd(q['budget_spent_usd'])} | {usd(naive['paid_usd'])} |",
        f"| budget limit / spent / max spent+reserved | {usd(q['budget_limit_usd'])} / "
        f"{usd(q['budget_spent_usd'])} / {usd(q['budget_max_committed_plus_reserved_usd'])} "
        f"| no budget |",
        f"| budget exceeded | {q['budget_exceeded']} | - |",
        f"| wall time | {q['wall_s']:.1f} s | {naive['wall_s']:.1f} s |", "",
        f"Faults injected (qhil run): {q['faults']}", "",
        f"Dispatcher counters: {q['dispatcher']}", "",
        f"One batch more after the budget was spent: {q['next_batch_refused']}", "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    batch_list = list(requests(args.batches))
    with tempfile.TemporaryDirectory() as tmp:
        q = run_qhil(batch_list, args.threads, Path(tmp) / "ledger.sqlite")
    naive = run_naive(batch_list)
    command = f".venv/bin/python benchmarks/bench_chaos.py --batches {args.batches} --threads {args.threads}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_chaos.json").write_text(json.dumps(
        {"command": command, "qhil": q, "naive": naive}, indent=2))
    (RESULTS / "bench_chaos.md").write_text(markdown(q, naive, command))
    print(markdown(q, naive, command))


if __name__ == "__main__":
    main()
