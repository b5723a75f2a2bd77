"""The public statement and the transcript's opening: everything absorbed before the first
challenge (protocol version, architecture, model commitment, dataset, claimed count)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from zkml.circuit import PROTOCOL_VERSION
from zkml.formats.jsonutil import canonical_json
from zkml.protocols.transcript import Transcript


def statement_digests(arch: dict, commitment_bytes: bytes, x_int: np.ndarray,
                      labels: np.ndarray, context: str = "") -> dict[str, bytes]:
    """SHA-256 of each public part: canonical architecture JSON, the commitment's row
    encodings, the quantized inputs, the labels (both as little-endian int64), and the
    context: a free string naming where the proof is used (the platform puts the challenge
    and the submission there, so a proof cannot be replayed under another entry)."""
    return {
        "context": hashlib.sha256(context.encode("utf-8")).digest(),
        "architecture": hashlib.sha256(canonical_json(arch)).digest(),
        "commitment": hashlib.sha256(commitment_bytes).digest(),
        "inputs": hashlib.sha256(np.ascontiguousarray(x_int, dtype="<i8").tobytes()).digest(),
        "labels": hashlib.sha256(np.ascontiguousarray(labels, dtype="<i8").tobytes()).digest(),
    }


@dataclass(frozen=True)
class Shard:
    """Samples start .. stop - 1 of the dataset, the index-th of `shards` contiguous parts."""
    index: int
    shards: int
    start: int
    stop: int

    def to_bytes(self) -> bytes:
        return b"".join(int(v).to_bytes(8, "big") for v in (self.index, self.shards, self.start, self.stop))


def start_transcript(digests: dict[str, bytes], n_samples: int, claimed_count: int | None,
                     shard: Shard | None = None, count_commitment: bytes = b"") -> Transcript:
    """The transcript after the statement. A whole proof absorbs the claimed count K; a shard's
    proof (docs/protocol.md, "Shards") absorbs its place in the dataset and the Pedersen
    commitment to its hidden count instead. Digests and N are always the whole dataset's."""
    t = Transcript(PROTOCOL_VERSION)
    for part in ("context", "architecture", "commitment", "inputs", "labels"):
        t.absorb("statement/" + part, digests[part])
    t.absorb("statement/n_samples", int(n_samples).to_bytes(8, "big"))
    if shard is None:
        t.absorb("statement/claimed_count", int(claimed_count).to_bytes(8, "big"))
    else:
        t.absorb("statement/shard", shard.to_bytes())
        t.absorb("statement/count_commitment", count_commitment)
    return t
