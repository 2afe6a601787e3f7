"""SamplingResult <-> bytes, for the ledger's result column.

Layout: magic, a JSON header (job id, provider, shots, timings, usage), then one .npz holding the
marginals and, when present, the counts as flat arrays (each bitstring as its integer, its count,
and the number of distinct bitstrings per circuit) and the exact probabilities: a 256-circuit batch encodes in milliseconds,
where a JSON dict of its counts takes tens. No pickle: a ledger read back only ever yields data.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
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
    if result.probabilities is not None:
        arrays["probabilities"] = np.asarray(result.probabilities, dtype=np.float64)
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
        probabilities = arrays["probabilities"] if "probabilities" in arrays.files else None
    return SamplingResult(marginals=marginals, shots=header["shots"], counts=counts,
                          job_id=header["job_id"], provider=header["provider"],
                          timings=JobTimings(**header["timings"]), usage=header["usage"],
                          probabilities=probabilities)


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


# the compact payload (ledger schema 2) ----------------------------------------------------------
# job id, provider, shots and timings live in the ledger row; the blob holds only what the row
# does not: the counts (marginals are derived from them when they agree exactly), else marginals
# as ones-counts (k / shots) or float64, and usage. Layout: b"Q3", flags, B, n (uint32 each),
# then arrays, each as a dtype byte, a length (uint32) and raw little-endian bytes; zlib when it
# shrinks the blob. About 40 bytes for one 4-qubit circuit of 100 shots.

COMPACT = b"Q3"
F_COUNTS, F_MARGINALS, F_ONES, F_USAGE, F_ZLIB, F_F32 = 1, 2, 4, 8, 16, 32
DTYPES = [np.uint8, np.uint16, np.uint32, np.uint64, np.float64, np.int64]
UNSIGNED = [np.iinfo(d) for d in DTYPES[:4]]
FEW_KEYS = 64  # counted bitstrings up to which a payload's arrays are built in plain Python


def encode_payload(result: SamplingResult) -> bytes:
    """What a stored result needs beyond its ledger row, in a few dozen bytes (lossless)."""
    marginals = np.asarray(result.marginals, dtype=np.float64)
    batch, width = marginals.shape
    flags, arrays, agree = 0, [], None
    if result.counts is not None and _fits_index(result.counts, width):
        arrays, derived = _counted(result.counts, batch, width, result.shots)
        flags, agree = F_COUNTS, _agreement(derived, marginals)
    if agree is None:
        flags, arrays = _with_marginals(flags, arrays, marginals, result.shots)
    else:
        flags |= agree
    if result.usage:
        flags |= F_USAGE
        arrays.append(np.frombuffer(json.dumps(result.usage).encode(), dtype=np.uint8))
    body = b"".join(_pack_array(a) for a in arrays)
    packed = zlib.compress(body, 6)
    if len(packed) < len(body):
        flags, body = flags | F_ZLIB, packed
    return COMPACT + struct.pack("<BII", flags, batch, width) + body


def _agreement(derived: np.ndarray | None, marginals: np.ndarray) -> int | None:
    """0 when `derived` is the marginals exactly, F_F32 when it is after float32 rounding (a
    provider that computes in float32), None otherwise."""
    if derived is None:
        return None
    if np.array_equal(derived, marginals):
        return 0
    if np.array_equal(derived.astype(np.float32).astype(np.float64), marginals):
        return F_F32
    return None


def _with_marginals(flags: int, arrays: list, marginals: np.ndarray, shots: int | None):
    """Marginals as ones-counts k (k / shots) when that is exact, else as float64."""
    ones = np.rint(marginals * shots) if shots else None
    agree = None if ones is None else _agreement(ones / shots, marginals)
    if agree is not None:
        return flags | F_ONES | agree, arrays + [_smallest(ones.astype(np.int64).ravel())]
    return flags | F_MARGINALS, arrays + [marginals.ravel()]


def decode_payload(blob: bytes, shots: int | None):
    """(marginals, counts, usage) of a compact payload."""
    flags, batch, width = struct.unpack("<BII", blob[2:11])
    body = zlib.decompress(blob[11:]) if flags & F_ZLIB else blob[11:]
    arrays, offset = [], 0
    while offset < len(body):
        array, offset = _unpack_array(body, offset)
        arrays.append(array)
    counts = marginals = usage = None
    if flags & F_COUNTS:
        lengths, keys, values = arrays[:3]
        counts = _counts_from_arrays(lengths, keys, values, width)
        marginals = _marginals_from_counts(lengths, keys, values, batch, width, shots)
    if flags & (F_MARGINALS | F_ONES):
        raw = arrays[3 if flags & F_COUNTS else 0]
        marginals = raw.reshape(batch, width).astype(np.float64)
        if flags & F_ONES:
            marginals = marginals / shots
    if flags & F_F32:
        marginals = marginals.astype(np.float32).astype(np.float64)
    if flags & F_USAGE:
        usage = json.loads(arrays[-1].tobytes())
    return marginals, counts, usage or {}


def _fits_index(counts: list[dict[str, int]], width: int) -> bool:
    return width <= 63 and all(len(k) == width for c in counts for k in c)


def _counted(counts: list[dict[str, int]], batch: int, width: int,
             shots: int | None) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The counts' arrays and the marginals they give (None without shots)."""
    few = _few_counts(counts, width, shots)
    if few is not None:
        return few
    arrays = _count_arrays(counts)
    return arrays, _marginals_from_counts(*arrays, batch, width, shots)


def _few_counts(counts: list[dict[str, int]], width: int,
                shots: int | None) -> tuple[list[np.ndarray], np.ndarray | None] | None:
    """`_count_arrays` and `_marginals_from_counts` in plain Python, the same arrays, for a few
    dozen 0/1 bitstrings (a training step's job), where numpy's cost per call is most of the
    work; None for anything else."""
    keys = [k for c in counts for k in c]
    if len(keys) > FEW_KEYS or not 0 < width <= 62 or "".join(keys).strip("01"):
        return None
    values = [v for c in counts for v in c.values()]
    arrays = [_smallest_of([len(c) for c in counts]), _smallest_of([int(k, 2) for k in keys]),
              _smallest_of(values)]
    if not shots:
        return arrays, None
    ones = [[sum(v for k, v in c.items() if k[j] == "1") for j in range(width)] for c in counts]
    return arrays, np.array(ones, dtype=np.float64) / shots


def _count_arrays(counts: list[dict[str, int]]) -> list[np.ndarray]:
    lengths = np.array([len(c) for c in counts], dtype=np.int64)
    width = len(next((k for c in counts for k in c), ""))
    text = "".join(chain.from_iterable(counts))
    keys = _bits_to_index(text, width) if text else np.zeros(0, dtype=np.int64)
    values = np.fromiter(chain.from_iterable(c.values() for c in counts), dtype=np.int64)
    return [_smallest(lengths), _smallest(keys), _smallest(values)]


def _counts_from_arrays(lengths, keys, values, width: int) -> list[dict[str, int]]:
    bits = _index_to_bits(keys.astype(np.int64), width) if len(keys) else []
    out, start = [], 0
    for length in lengths.tolist():
        out.append(dict(zip(bits[start:start + length],
                            values[start:start + length].tolist(), strict=True)))
        start += length
    return out


def _marginals_from_counts(lengths, keys, values, batch: int, width: int,
                           shots: int | None) -> np.ndarray | None:
    """P(qubit j reads 1) per circuit from the counts (qubit 0 is the key's highest bit)."""
    if not shots:
        return None
    row = np.repeat(np.arange(batch), lengths.astype(np.int64))
    bits = (keys.astype(np.int64)[:, None] >> np.arange(width - 1, -1, -1)) & 1
    ones = np.zeros((batch, width))
    np.add.at(ones, row, bits * values.astype(np.int64)[:, None])
    return ones / shots


def _smallest(values: np.ndarray) -> np.ndarray:
    """The narrowest unsigned type that holds non-negative integers (else int64)."""
    if values.dtype == np.float64:
        return values
    if values.size and values.min() < 0:
        return values.astype(np.int64)
    top = int(values.max()) if values.size else 0
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if top <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values


def _smallest_of(values: list[int]) -> np.ndarray:
    """`_smallest` of a list of integers, without numpy's cost per call on a few of them."""
    if values and min(values) < 0:
        return np.array(values, dtype=np.int64)
    top = max(values, default=0)
    dtype = next((d for d in UNSIGNED if top <= d.max), None)
    return np.array(values, dtype=np.int64 if dtype is None else dtype.dtype)


def _pack_array(array: np.ndarray) -> bytes:
    code = next(i for i, d in enumerate(DTYPES) if array.dtype == d)
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return struct.pack("<BI", code, array.size) + data


def _unpack_array(body: bytes, offset: int) -> tuple[np.ndarray, int]:
    code, size = struct.unpack("<BI", body[offset:offset + 5])
    dtype = np.dtype(DTYPES[code]).newbyteorder("<")
    end = offset + 5 + size * dtype.itemsize
    return np.frombuffer(body[offset + 5:end], dtype=dtype).astype(DTYPES[code]), end
