"""qhil under PennyLane: `qml.device("qhil", wires=n, provider=..., shots=..., budget_usd=...)`.

`diff_method="qtdnn"` gives a QNode qhil's surrogate gradient (`QtDNNGradient`, the engine of
`qhil.QuantumLayer`). Registered as the `pennylane.plugins` entry point `qhil`; the only package of qhil that imports
PennyLane (install `qhil[pennylane]`).
"""

from qhil.pennylane.device import QhilDevice
from qhil.pennylane.surrogate import QtDNNGradient

__all__ = ["QhilDevice", "QtDNNGradient"]
