"""Sweeps of training runs on Ray Tune (`qhil sweep`): every trial an ordinary run folder.

    spec.py      the options parsed: seeds, grid axes, searched parameters (light: --help)
    plan.py      SweepSpec (what was asked), SweepPlan (its cells and their budget shares, as
                 sweep.json), SweepFolder (the paths)
    setup.py     a new sweep's plan, every trial's config checked before anything starts
    spending.py  the whole sweep's estimate, its one consent and the budget split over trials
    cluster.py   Ray started here (or joined with --address), checked and stopped
    runner.py    estimate, budget check, Ray, consent, Tune, report: in that order
    trial.py     one trial: train (or resume) its run folder, report its summary to Tune
    tuner.py     the Tune experiment: param space, search algorithm, restore, progress
    results.py   the run folders read back: cells, each metric's mean, 95% CI and seed count
    report.py    per-metric tables, learning curves with bands, report.{md,html,json}

Ray is the optional extra `qhil[ray]`; nothing outside this package imports it.
"""
