"""check_sweep_resume: its verdicts on the figures of a resumed 2 x 3 sweep (the sweep itself runs
in tests/sweep at 2 x 2)."""

from tests.benchmarks.scripts import load_benchmark


def figures(**changes) -> dict:
    runs = [f"block={b}_seed={s}" for b in ("fc", "pqc") for s in (0, 1, 2)]
    base = {"run_folders": runs, "finished_untouched": {"block=pqc_seed=0": True},
            "pqc_jobs_and_distinct_requests": {"0": [1400, 1400], "1": [1400, 1400],
                                               "2": [1400, 1400]},
            "pqc_jobs_expected": 1400,
            "report_cells": [[{"block": "fc"}, [0, 1, 2]], [{"block": "pqc"}, [0, 1, 2]]],
            "outputs": {"report.md": True, "curves.png": True}}
    return base | changes


def test_a_clean_resume_meets_every_check():
    assert all(load_benchmark("check_sweep_resume").verdicts(figures()).values())


def test_a_job_bought_twice_a_trial_run_again_or_a_missing_seed_is_caught():
    verdicts = load_benchmark("check_sweep_resume").verdicts
    twice = figures(pqc_jobs_and_distinct_requests={"0": [1401, 1400], "1": [1400, 1400],
                                                    "2": [1400, 1400]})
    assert not verdicts(twice)["nothing bought twice"]
    rerun = figures(finished_untouched={"block=pqc_seed=0": False})
    assert not verdicts(rerun)["finished trials not run again"]
    short = figures(report_cells=[[{"block": "fc"}, [0, 1]], [{"block": "pqc"}, [0, 1, 2]]])
    assert not verdicts(short)["table cells with seeds 0-2"]
