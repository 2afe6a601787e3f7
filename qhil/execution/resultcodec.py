"""SamplingResult <-> bytes, for the ledger's result column: a JSON header and the marginals as .npy,
zlib-compressed (counts of big batches shrink several-fold).

No pickle: a ledger file read back can only ever yield data.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import asdict

import numpy as np

from qhil.execution.job import JobTimings, SamplingResult

MAGIC = b"QHILZ1"


def encode_result(result: SamplingResult) -> bytes:
    header = json.dumps({
        "shots": result.shots, "counts": result.counts, "job_id": result.job_id,
        "provider": result.provider, "timings": asdict(result.timings), "usage": result.usage,
    }).encode()
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(result.marginals, dtype=np.float64), allow_pickle=False)
    body = struct.pack("<I", len(header)) + header + buffer.getvalue()
    return MAGIC + zlib.compress(body, 1)


def decode_result(blob: bytes) -> SamplingResult:
    if not blob.startswith(MAGIC):
        raise ValueError("not a qhil result blob")
    body = zlib.decompress(blob[len(MAGIC):])
    (size,) = struct.unpack("<I", body[:4])
    header = json.loads(body[4:4 + size])
    marginals = np.load(io.BytesIO(body[4 + size:]), allow_pickle=False)
    return SamplingResult(marginals=marginals, shots=header["shots"], counts=header["counts"],
                          job_id=header["job_id"], provider=header["provider"],
                          timings=JobTimings(**header["timings"]), usage=header["usage"])
