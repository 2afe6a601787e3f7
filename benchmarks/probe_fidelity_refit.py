"""Does more qtDNN refitting raise the surrogate's Jacobian cosine? (issue 4, exploratory)

    .venv/bin/python benchmarks/probe_fidelity_refit.py RUN_DIR 16 64 256

RUN_DIR is a trained pqc run (e.g. from bench_train_pendulum.py); work on a copy, since the
session opens the run's ledger. For each N_qt given, restores the run, refits on 8 fresh
minibatches with N_qt tiny batches each, and prints the median and min Jacobian cosine.
"""

from __future__ import annotations

import statistics
import sys

import torch

from qhil.execution.registry import get_provider
from qhil.rl.run import Session, open_run_dispatcher
from qhil.rl.rundir import RunFolder


def cosines(session: Session, n_tiny: int, minibatches: int = 8) -> list[float]:
    session.restore()
    session.td3.qtdnn.n_tiny_batches = n_tiny
    out = []
    for _ in range(minibatches):
        batch = session.replay.sample(session.config.td3.batch_size, session.learner.rng,
                                      session.device)
        session.td3.qtdnn.refit(*session.learner._refit_pairs(batch), session.learner.generator)
        out.append(session.learner.fidelity(batch)["surrogate/jacobian_cosine"])
    return out


def main() -> None:
    folder = RunFolder(sys.argv[1])
    config = folder.load_config().with_overrides(**{"loop.device": "cpu"})
    with get_provider("local") as provider:
        dispatcher = open_run_dispatcher(folder, provider, None)
        session = Session(config, folder, dispatcher)
        for n_tiny in (int(x) for x in sys.argv[2:]):
            jac = cosines(session, n_tiny)
            print(f"N_qt {n_tiny:>4}: Jacobian cosine median {statistics.median(jac):.3f}, "
                  f"min {min(jac):.3f}", flush=True)
        session.explorer.close()
        dispatcher.ledger.close()


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
