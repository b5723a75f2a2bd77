"""PROOF.bin: magic, version, claimed count K, sample count N, the statement digests, the
body's length (since version 3), then the message stream. The digests only serve clear error
messages (a proof for another dataset or commitment is named as such); soundness comes from
the transcript, which absorbs the full statement itself. The length makes a truncated or
extended file a FormatError when it is read, before any verifying."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import FormatError

PROOF_MAGIC = b"ZKMPROOF"
PROOF_VERSION = 3          # 3: version 2 + the body's length; 2: proof protocol v2 (LogUp-GKR lookups)
_PREFIX = struct.Struct(">8sH")                       # magic, version
_HEADER = struct.Struct(">8sHQQ32s32s32s32s32sQ")     # + K, N, 5 digests, body length (big-endian)
STATEMENT_PARTS = ("context", "architecture", "commitment", "inputs", "labels")
MAX_PROOF_BYTES = 256 << 20


@dataclass
class Proof:
    claimed_count: int
    n_samples: int
    body: bytes
    statement: dict[str, bytes]

    def to_bytes(self) -> bytes:
        return _HEADER.pack(PROOF_MAGIC, PROOF_VERSION, self.claimed_count, self.n_samples,
                            *(self.statement[k] for k in STATEMENT_PARTS), len(self.body)) + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> "Proof":
        """Parse a whole proof file: the header, and a body of exactly the declared length."""
        if len(data) > MAX_PROOF_BYTES:
            raise FormatError(f"proof is larger than {MAX_PROOF_BYTES} bytes")
        if bytes(data[:len(PROOF_MAGIC)]) != PROOF_MAGIC:
            raise FormatError("not a proof file (bad magic bytes)")
        if len(data) < _PREFIX.size:
            raise FormatError(f"proof is truncated: {len(data)} bytes, the header alone is {_HEADER.size}")
        _, version = _PREFIX.unpack_from(data)
        if version != PROOF_VERSION:
            raise FormatError(f"unsupported proof version {version}: this verifier reads version "
                              f"{PROOF_VERSION} (prove again with this version of zkml)")
        if len(data) < _HEADER.size:
            raise FormatError(f"proof is truncated: {len(data)} bytes, the header alone is {_HEADER.size}")
        _, _, count, n, *digests, declared = _HEADER.unpack_from(data)
        body = bytes(data[_HEADER.size:])
        if len(body) < declared:
            raise FormatError(f"proof is truncated: its body has {len(body)} of {declared} bytes "
                              "(an incomplete download or copy?)")
        if len(body) > declared:
            raise FormatError(f"{len(body) - declared} unexpected bytes after the proof's end")
        return cls(count, n, body, dict(zip(STATEMENT_PARTS, digests)))

    def save(self, path) -> None:
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    @classmethod
    def load(cls, path) -> "Proof":
        try:
            with open(path, "rb") as f:
                return cls.from_bytes(f.read(MAX_PROOF_BYTES + 1))
        except OSError as exc:
            raise FormatError(f"cannot read proof file: {exc}") from None
