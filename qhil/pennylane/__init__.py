"""qhil under PennyLane: `qml.device("qhil", wires=n, provider=..., shots=..., budget_usd=...)`.

Registered as the `pennylane.plugins` entry point `qhil`; the only package of qhil that imports
PennyLane (install `qhil[pennylane]`).
"""

from qhil.pennylane.device import QhilDevice

__all__ = ["QhilDevice"]
