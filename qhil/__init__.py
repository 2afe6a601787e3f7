"""qhil: real quantum processors in the loop of reinforcement-learning training.

    >>> import qhil
    >>> ansatz = qhil.HDQNNAnsatz(n_qubits=4, n_layers=2)
    >>> provider = qhil.get_provider("local")
    >>> job = provider.submit(ansatz.request(controls, shots=100, seed=1))
    >>> job.result().marginals      # (B, 4) P(qubit j reads 1)
"""

from qhil.errors import QhilError
from qhil.execution import Job, JobStatus, Provider, SamplingRequest, SamplingResult, get_provider
from qhil.quantum.ansatz import HDQNNAnsatz
from qhil.quantum.simulator import BatchedSimulator

__version__ = "0.1.0"

__all__ = [
    "BatchedSimulator", "HDQNNAnsatz", "Job", "JobStatus", "Provider", "QhilError",
    "SamplingRequest", "SamplingResult", "get_provider", "__version__",
]
