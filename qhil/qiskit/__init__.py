"""Qiskit primitives on qhil's providers, budget and ledger.

    from qhil.qiskit import Sampler, Estimator
    sampler = Sampler(provider="local", ledger="runs/qnn/ledger.sqlite", seed=7)
    result = sampler.run([(circuit, parameter_values)], shots=1000).result()
    result[0].data.meas.get_counts()          # a BitArray per classical register, as Qiskit's

    estimator = Estimator(provider="braket-iqm-garnet", budget=5.0, yes=True)   # bills: $5 at most
    estimator.run([(circuit, SparsePauliOp("ZZ"), values)], precision=0.02).result()[0].data.evs

`Sampler` implements `BaseSamplerV2` and `Estimator` `BaseEstimatorV2`, so Qiskit Machine
Learning's `SamplerQNN` / `EstimatorQNN` + `TorchConnector` (and any primitives code) run on
Braket devices, IBM or the embedded simulator through qhil: every `run` is one qhil job per
(width, parameter count, shots) group of its PUBs, validated and priced before it is sent,
recorded in the ledger, retried without paying twice. On a device that bills, a budget and
consent (`yes=True` or an `ask` callback) are required before anything is sent.

Qiskit is imported only by this package (`qhil[ibm]`; `qhil[qiskit-ml]` for the QNNs).
"""

from qhil.qiskit.estimator import Estimator
from qhil.qiskit.sampler import Sampler

__all__ = ["Estimator", "Sampler"]
