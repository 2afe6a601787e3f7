"""The providers every conformance test runs against. A new adapter adds a case here.

    name             provider profile name (providers/NAME.toml)
    noise_tolerance  extra allowed |marginal - ideal| for noisy devices (0 for ideal simulators)
    slow_batch       (qubits, layers, batch) big enough that result(timeout_s=1e-4) times out
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderCase:
    name: str
    noise_tolerance: float = 0.0
    slow_batch: tuple[int, int, int] = (14, 8, 512)


CASES = [
    ProviderCase("local"),
    ProviderCase("local-noisy", noise_tolerance=0.08),
    ProviderCase("chaos-local"),
    ProviderCase("aer", slow_batch=(8, 3, 64)),
    ProviderCase("aer-noisy-torino", noise_tolerance=0.2, slow_batch=(8, 4, 64)),
    ProviderCase("ibm-fake-torino", noise_tolerance=0.2, slow_batch=(8, 4, 64)),
    ProviderCase("ibm-fake-sherbrooke", noise_tolerance=0.2, slow_batch=(8, 4, 64)),
    ProviderCase("braket-local", slow_batch=(4, 2, 40)),
    ProviderCase("braket-local-dm", noise_tolerance=0.08, slow_batch=(4, 2, 40)),
]
