"""SamplingResult <-> bytes, for the ledger's result column.

Layout: magic, a JSON header (job id, provider, shots, timings, usage), then one .npz holding the
marginals and, when present, the counts as flat arrays (each bitstring as its integer, its count,
and the number of distinct bitstrings per circuit): a 256-circuit batch encodes in milliseconds,
where a JSON dict of its counts takes tens. No pickle: a ledger read back only ever yields data.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import asdict
from itertools import chain

import numpy as np

from qhil.execution.job import JobTimings, SamplingResult

MAGIC = b"QHILR2"


def encode_result(result: SamplingResult) -> bytes:
    header = json.dumps({
        "shots": result.shots, "job_id": result.job_id, "provider": result.provider,
        "timings": asdict(result.timings), "usage": result.usage,
        "counts": result.counts is not None,
    }).encode()
    arrays = {"marginals": np.asarray(result.marginals, dtype=np.float64)}
    if result.counts is not None:
        arrays.update(_pack_counts(result.counts))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return MAGIC + struct.pack("<I", len(header)) + header + buffer.getvalue()


def decode_result(blob: bytes) -> SamplingResult:
    if not blob.startswith(MAGIC):
        raise ValueError("not a qhil result blob")
    offset = len(MAGIC) + 4
    (size,) = struct.unpack("<I", blob[len(MAGIC):offset])
    header = json.loads(blob[offset:offset + size])
    with np.load(io.BytesIO(blob[offset + size:]), allow_pickle=False) as arrays:
        marginals = arrays["marginals"]
        counts = _unpack_counts(arrays) if header["counts"] else None
    return SamplingResult(marginals=marginals, shots=header["shots"], counts=counts,
                          job_id=header["job_id"], provider=header["provider"],
                          timings=JobTimings(**header["timings"]), usage=header["usage"])


def _pack_counts(counts: list[dict[str, int]]) -> dict[str, np.ndarray]:
    widths = {len(k) for c in counts for k in c}
    width = widths.pop() if len(widths) == 1 else 0
    if widths:  # mixed widths never come from one register; keep them readable anyway
        keys = np.frombuffer(json.dumps(counts).encode(), dtype=np.uint8)
    else:
        keys = _bits_to_index("".join(chain.from_iterable(counts)), width)
    values = np.fromiter(chain.from_iterable(c.values() for c in counts), dtype=np.int64)
    return {"count_keys": _narrow(keys), "count_values": _narrow(values),
            "count_lengths": np.array([len(c) for c in counts], dtype=np.int64),
            "count_width": np.array(width, dtype=np.int64)}


def _narrow(values: np.ndarray) -> np.ndarray:
    """int32 where every value fits (most registers and shot counts): half the bytes."""
    fits = values.dtype == np.int64 and (values.size == 0 or abs(int(values.max())) < 2**31)
    return values.astype(np.int32) if fits else values


def _unpack_counts(arrays) -> list[dict[str, int]]:
    width = int(arrays["count_width"])
    lengths = arrays["count_lengths"].tolist()
    if width == 0 and sum(lengths):
        return json.loads(arrays["count_keys"].tobytes())
    keys = _index_to_bits(arrays["count_keys"], width)
    values = arrays["count_values"].tolist()
    out, start = [], 0
    for length in lengths:
        out.append(dict(zip(keys[start:start + length], values[start:start + length], strict=True)))
        start += length
    return out


def _bits_to_index(text: str, width: int) -> np.ndarray:
    """Bitstrings (qubit 0 first) as integers when they fit in 62 bits, else as ASCII bytes."""
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    if not 0 < width <= 62:
        return raw
    bits = (raw.reshape(-1, width) - ord("0")).astype(np.int64)
    return bits @ (1 << np.arange(width - 1, -1, -1, dtype=np.int64))


def _index_to_bits(keys: np.ndarray, width: int) -> list[str]:
    if width == 0:
        return []
    if keys.dtype == np.uint8:
        text = keys.tobytes().decode("ascii")
    else:
        shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
        wide = keys.astype(np.int64)[:, None]
        text = (((wide >> shifts) & 1) + ord("0")).astype(np.uint8).tobytes().decode()
    return [text[i:i + width] for i in range(0, len(text), width)]
