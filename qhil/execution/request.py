"""SamplingRequest lives in qhil.quantum.request (requests are circuits, below execution); this
name stays for the code and documentation that import it from here."""

from qhil.quantum.request import SamplingRequest

__all__ = ["SamplingRequest"]
