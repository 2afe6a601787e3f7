"""Torch layers over the circuits of `qhil.quantum`: what a model holds and backpropagates through.

    quantum_layer  `qhil.QuantumLayer`: any circuit template as a torch module (inputs and weights)
    template_circuit  a template on a provider as the gradient engine sees it
    outputs        what the layer returns: P(1) of measured qubits or Pauli-Z word expectations
    hdqnn          the hDQNN T-block (PQCBlock), its control map and the qtDNN surrogate
    gradients      the one gradient engine: qtdnn, parameter-shift, spsa, exact as strategies
    fidelity       the one gradient-fidelity measure (cosine and relative error to the exact one)
    meanfield      the mean-field prior of a surrogate (the hDQNN ansatz, rx/ry/rz/cz templates)
    refit          the qtDNN's hand-written refit step

`qhil.quantum` (circuits, requests, simulators) sits below and imports nothing from here.
"""
