"""Torch layers over the circuits of `qhil.quantum`: what a model holds and backpropagates through.

    quantum_layer  `qhil.QuantumLayer`: any circuit template as a torch module (inputs and weights)
    hdqnn          the hDQNN T-block (PQCBlock), its control map and the qtDNN surrogate
    gradients      the one gradient engine: qtdnn, parameter-shift, spsa, exact as strategies
    fidelity       the one gradient-fidelity measure (cosine and relative error to the exact one)
    meanfield      the mean-field prior of a surrogate; refit  the qtDNN's hand-written refit step

`qhil.quantum` (circuits, requests, simulators) sits below and imports nothing from here.
"""
