"""Sweeps of training runs on Ray Tune (`qhil sweep`): every trial an ordinary run folder.

    spec.py      what the user asked: seeds, grid, searched parameters, resources (no Ray)
    plan.py      the sweep folder's sweep.json: the spec, its cells and each cell's budget share
    spending.py  the whole sweep's estimate, its one consent and the budget split over trials
    cluster.py   Ray started here (or joined with --address), checked and stopped; the only
                 module besides tuner.py and trial.py that imports Ray
    trial.py     one trial: train (or resume) its run folder, report its summary to Tune
    tuner.py     the Tune experiment: param space, search algorithm, restore, progress
    report.py    per-metric tables (mean, 95% CI, seeds), learning curves, report.{md,html,json}

Ray is the optional extra `qhil[ray]`; nothing outside this package imports it.
"""
