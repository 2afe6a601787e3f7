"""Supervised hDQNN on scikit-learn's digits: qtdnn against its exact-gradient twin, one run.

    .venv/bin/python benchmarks/bench_supervised_digits.py            # --update-results: results/
    .venv/bin/python benchmarks/bench_supervised_digits.py --quick    # 2 epochs, smoke

PreDNN [64, 64, 24] -> QuantumLayer (8 qubits: RY, RZ, CX chain, RY; 1000 shots on `local`)
-> PostDNN [8, 64, 10]; Adam 3e-3, batch 64, 20 epochs, 70/30 split (seeded). The two runs share
every setting and seed but the gradient method. Target: qtdnn >= 90% test accuracy. The
gradient cosine / relative error is measured in every backward pass against the exact
gradient reaching the PreDNN's outputs (the quantity the PreDNN learns from).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import results_dir  # noqa: E402  (benchmarks/ is on sys.path)

from qhil.supervised.digits import DigitsConfig, train_digits  # noqa: E402


def run(gradient: str, epochs: int, seed: int) -> dict:
    started = time.perf_counter()
    result = train_digits(DigitsConfig(gradient=gradient, epochs=epochs, seed=seed))
    return {"gradient": gradient, "seed": seed, "test_accuracy": result.test_accuracy,
            "final_train_loss": result.losses[-1], "mean_grad_cosine": result.mean_grad_cosine,
            "last_epoch_grad_cosine": _tail(result.grad_cosines),
            "mean_grad_rel_error": result.mean_grad_rel_error, "circuits": result.circuits,
            "wall_s": time.perf_counter() - started}


def _tail(values: list[float], n: int = 20) -> float:
    tail = values[-n:]
    return sum(tail) / len(tail) if tail else float("nan")


RESULTS = results_dir()  # runs/benchmarks/ unless --update-results (benchmarks/_results.py)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    epochs = 2 if args.quick else DigitsConfig.epochs
    rows = [run(g, epochs, seed) for seed in range(args.seeds) for g in ("qtdnn", "exact")]
    report = {"config": dataclasses.asdict(DigitsConfig(epochs=epochs)), "runs": rows,
              "target": "qtdnn test accuracy >= 0.90",
              "met": all(r["test_accuracy"] >= 0.9 for r in rows if r["gradient"] == "qtdnn"),
              "machine_load": os.getloadavg()}
    print(json.dumps(report, indent=2))
    if not args.quick:
        out = RESULTS / "bench_supervised_digits.json"
        out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
