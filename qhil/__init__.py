"""qhil: real quantum processors in the loop of reinforcement-learning training.

    >>> import qhil
    >>> ansatz = qhil.HDQNNAnsatz(n_qubits=4, n_layers=2)
    >>> provider = qhil.get_provider("local")
    >>> job = provider.submit(ansatz.request(controls, shots=100, seed=1))
    >>> job.result().marginals      # (B, 4) P(qubit j reads 1)
    >>> run = qhil.train("configs/pendulum.toml", out="runs/api", steps=2000)
    >>> qhil.load_policy(run.path, forward="exact").predict(obs)

Your own circuit (Qiskit or OpenQASM 3) in your own torch model:

    >>> template = qhil.CircuitTemplate.from_qasm(open("my.qasm").read())
    >>> layer = qhil.QuantumLayer(template, provider="local", shots=1000, gradient="qtdnn",
    ...                           weights=["w0", "w1"], observables=["Z0", "Z0Z1"])

Spending on a device that bills takes a budget and consent, on every road to a provider (the
layer's `budget=`/`yes=` too); plugins open their Dispatcher the same way:

    >>> dispatcher = qhil.open_dispatcher("ibm-torino", budget=qhil.Budget(usd=5), yes=True)

The names below are imported on first use (PEP 562), so `import qhil` and `qhil --help` do not
pay for torch or numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

from qhil.threads import quiet_waits

quiet_waits()  # before anything imports torch: idle OpenMP threads sleep, not spin (qhil/threads.py)

__version__ = "0.1.0"

_LAZY = {
    "Simulator": "qhil.quantum.simulator", "HDQNNAnsatz": "qhil.quantum.ansatz",
    "Job": "qhil.execution", "JobStatus": "qhil.execution", "Provider": "qhil.execution",
    "SamplingRequest": "qhil.execution", "SamplingResult": "qhil.execution",
    "get_provider": "qhil.execution", "QhilError": "qhil.errors",
    "CircuitTemplate": "qhil.quantum.template", "QuantumLayer": "qhil.layers.quantum_layer",
    "train": "qhil.api", "load_policy": "qhil.api", "Run": "qhil.api", "Policy": "qhil.api",
    "TrainConfig": "qhil.rl.config", "Budget": "qhil.execution.budget",
    "open_dispatcher": "qhil.execution.consent", "Spend": "qhil.execution.spend",
}

__all__ = [*sorted(_LAZY), "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'qhil' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
