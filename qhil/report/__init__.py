"""Provider comparison reports (`qhil compare`).

    probes.py    the probe workload: hDQNN (data and fixed entangler), GHZ, a random fixed PQC,
                 each with its exact distribution from the embedded simulator
    metrics.py   Hellinger fidelity, total variation distance, marginal error, percentiles
    measure.py   runs the probes on one provider (or predicts them from calibration: dry run)
    runcost.py   the configured training run's wall time and dollars, from the cost model
    runs.py      evaluation return of finished runs (--runs), per dollar and per hour
    model.py     the typed report objects and their JSON form
    plots.py / render.py   PNG plots and report.html / report.md / report.json
"""
