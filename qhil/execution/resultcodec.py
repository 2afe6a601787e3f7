"""SamplingResult <-> bytes, for the ledger's result column: a JSON header and the marginals as .npy.

No pickle: a ledger file read back can only ever yield data.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import asdict

import numpy as np

from qhil.execution.job import JobTimings, SamplingResult

MAGIC = b"QHILR1"


def encode_result(result: SamplingResult) -> bytes:
    header = json.dumps({
        "shots": result.shots, "counts": result.counts, "job_id": result.job_id,
        "provider": result.provider, "timings": asdict(result.timings), "usage": result.usage,
    }).encode()
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(result.marginals, dtype=np.float64), allow_pickle=False)
    return MAGIC + struct.pack("<I", len(header)) + header + buffer.getvalue()


def decode_result(blob: bytes) -> SamplingResult:
    if not blob.startswith(MAGIC):
        raise ValueError("not a qhil result blob")
    offset = len(MAGIC) + 4
    (size,) = struct.unpack("<I", blob[len(MAGIC):offset])
    header = json.loads(blob[offset:offset + size])
    marginals = np.load(io.BytesIO(blob[offset + size:]), allow_pickle=False)
    return SamplingResult(marginals=marginals, shots=header["shots"], counts=header["counts"],
                          job_id=header["job_id"], provider=header["provider"],
                          timings=JobTimings(**header["timings"]), usage=header["usage"])
