"""A sweep from its plan to its report: estimate, budget check, Ray, consent, Tune, report.

    code = run_sweep(folder, plan, address, budget, yes=..., resume=...)

Order: the estimate and the budget check come before Ray starts; the consent (with the wall
time at the cluster's parallelism) before sweep.json or any run folder is written; the report
is written from the run folders whatever happened to single trials.
"""

from __future__ import annotations

import sys

from qhil.execution.budget import Budget
from qhil.execution.spend import check_budget
from qhil.runlock import claim
from qhil.sweep.cluster import ray_cluster
from qhil.sweep.plan import SweepFolder, SweepPlan
from qhil.sweep.report import write_sweep_report
from qhil.sweep.spending import consent_to_sweep, sweep_estimate, with_allowances


def run_sweep(folder: SweepFolder, plan: SweepPlan, where: str | None, budget: Budget | None,
              *, yes: bool, resume: bool) -> int:
    estimate = sweep_estimate(plan, folder.finished(plan), folder.finished_count()) \
        if resume else sweep_estimate(plan)
    check_budget(estimate.total, budget)  # refused before anything starts
    spec = plan.spec
    with ray_cluster(where) as cluster:
        parallel = cluster.check(spec.cpus_per_trial, spec.gpus_per_trial)
        parallel = min(parallel, spec.max_concurrent or parallel)
        consent_to_sweep(estimate, parallel, budget, yes=yes)
        if not resume:
            plan = with_allowances(plan, estimate, spec.budget)
            folder.write_plan(plan)
        from qhil.sweep.tuner import fit

        with claim(folder.path, "qhil sweep"):  # one writer per sweep folder (nests in --resume's)
            results = fit(plan, folder, resume)
    return finish_sweep(folder, plan, results)


def finish_sweep(folder: SweepFolder, plan: SweepPlan, results) -> int:
    """The report, one line per failed trial, and the exit code (1 when any trial failed)."""
    paths = write_sweep_report(folder, plan)
    failed = [r for r in results if r.error is not None]
    done = folder.finished_count()
    print(f"sweep {folder.path}: {done} of {plan.trial_count()} trials finished"
          + (f", {len(failed)} failed" if failed else ""))
    print(f"report: {', '.join(p.name for p in paths.values())}; run folders in {folder.runs}")
    for r in failed:
        print(f"failed trial {r.path}: {_first_line(r.error)}", file=sys.stderr)
    if failed or done < plan.trial_count():
        print(f"continue it with: qhil sweep --resume {folder.path}", file=sys.stderr)
        return 1
    return 0


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
