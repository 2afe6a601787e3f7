"""Shared helpers for the execution tests: chaos profiles written to tmp_path, small requests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qhil import HDQNNAnsatz
from qhil.quantum.request import SamplingRequest
from tests.conftest import random_controls

RETRY_FAST = {"max_attempts": 4, "initial_backoff_s": 0.5, "max_backoff_s": 4.0, "jitter_s": 0.1}


def chaos_profile(tmp_path: Path, name: str = "chaos-test", retry: dict | None = None,
                  calibration: str | None = "calibration/chaos-priced.toml",
                  max_circuits_per_job: int = 1000, max_jobs_in_flight: int = 4,
                  **options) -> str:
    """Write a chaos profile over `local` with the given faults; returns its path."""
    opts = {"inner": "local", "seed": 5, **options}
    lines = [f'name = "{name}"', 'kind = "chaos"', 'device = "embedded"',
             f"max_jobs_in_flight = {max_jobs_in_flight}"]
    if calibration:
        lines.append(f'calibration = "{calibration}"')
    lines += ["[limits]", "max_qubits = 8", "max_shots = 100000",
              f"max_circuits_per_job = {max_circuits_per_job}", "supports_exact = true"]
    lines += ["[retry]"] + [f"{k} = {v}" for k, v in (retry or RETRY_FAST).items()]
    lines += ["[options]"] + [f"{k} = {_toml(v)}" for k, v in opts.items()]
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _toml(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def small_request(rng: np.random.Generator, batch: int = 4, shots: int = 50,
                  seed: int | None = 1) -> SamplingRequest:
    ansatz = HDQNNAnsatz(3, 2)
    return ansatz.request(random_controls(rng, ansatz, batch), shots=shots, seed=seed)


class FakeSleep:
    """Records the waits a retry policy asks for instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
