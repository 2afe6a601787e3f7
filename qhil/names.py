"""Closed vocabularies the CLI offers as choices, importable without torch or numpy so that
`qhil --help` and argument errors answer at once. The modules that implement them import them
from here (one home per fact)."""

ENTANGLERS = ("data", "ring", "chain")
"""CZ patterns of the hDQNN ansatz: data (indices from the controls), ring or chain (fixed)."""

GRADIENTS = ("qtdnn", "parameter-shift", "spsa", "exact")
"""Gradient methods of every quantum layer, the T-block and qhil.QuantumLayer (strategies in
qhil.layers.gradients): the qtDNN surrogate, the parameter-shift rule and SPSA on the provider,
autograd through the embedded simulator."""
