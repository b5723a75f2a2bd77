"""PROOF.bin: magic, version, claimed count K, sample count N, the statement digests, the
body's length (since version 4), then the message stream. The digests only serve clear error
messages (a proof for another dataset or commitment is named as such); soundness comes from
the transcript, which absorbs the full statement itself. The length makes a truncated or
extended file a FormatError when it is read, before any verifying."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from zkml.formats.files import read_bounded, write_bytes
from zkml.errors import FormatError

PROOF_MAGIC = b"ZKMPROOF"
# 4: version 2 + the body's length (4, not 3: two bits away from 2, which is still read, so one
# flipped bit cannot make a version-4 file parse as version 2). 2: proof protocol v2 (LogUp-GKR).
PROOF_VERSION = 4
READABLE_VERSIONS = (2, PROOF_VERSION)   # 2: proofs made before the length was added still verify
_PREFIX = struct.Struct(">8sH")                       # magic, version
_HEADER = struct.Struct(">8sHQQ32s32s32s32s32sQ")     # + K, N, 5 digests, body length (big-endian)
_HEADER_V2 = struct.Struct(">8sHQQ32s32s32s32s32s")   # version 2: no body length
STATEMENT_PARTS = ("context", "architecture", "commitment", "inputs", "labels")
MAX_PROOF_BYTES = 256 << 20


@dataclass
class Proof:
    claimed_count: int
    n_samples: int
    body: bytes
    statement: dict[str, bytes]
    version: int = PROOF_VERSION     # the format it was read from; to_bytes writes the current one

    def to_bytes(self, version: int = PROOF_VERSION) -> bytes:
        """The proof file; `version=2` writes the old format without the body length (its
        messages are the same bytes: only the header differs)."""
        digests = [self.statement[k] for k in STATEMENT_PARTS]
        if version == 2:
            return _HEADER_V2.pack(PROOF_MAGIC, 2, self.claimed_count, self.n_samples, *digests) + self.body
        if version != PROOF_VERSION:
            raise ValueError(f"cannot write proof version {version}")
        return _HEADER.pack(PROOF_MAGIC, PROOF_VERSION, self.claimed_count, self.n_samples, *digests,
                            len(self.body)) + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> "Proof":
        """Parse a whole proof file: the header, and a body of exactly the declared length (a
        version-2 file declares none: its body is the rest of the file)."""
        if len(data) > MAX_PROOF_BYTES:
            raise FormatError(f"proof is larger than {MAX_PROOF_BYTES} bytes")
        if bytes(data[:len(PROOF_MAGIC)]) != PROOF_MAGIC:
            raise FormatError("not a proof file (bad magic bytes)")
        if len(data) < _PREFIX.size:
            raise FormatError(f"proof is truncated: {len(data)} bytes, the header alone is {_HEADER.size}")
        _, version = _PREFIX.unpack_from(data)
        if version not in READABLE_VERSIONS:
            raise FormatError(f"unsupported proof version {version}: this verifier reads versions "
                              f"{' and '.join(map(str, READABLE_VERSIONS))} (prove again with this version of zkml)")
        header = _HEADER if version == PROOF_VERSION else _HEADER_V2
        if len(data) < header.size:
            raise FormatError(f"proof is truncated: {len(data)} bytes, the header alone is {header.size}")
        _, _, count, n, *fields = header.unpack_from(data)
        digests = fields[:len(STATEMENT_PARTS)]
        body = bytes(data[header.size:])
        if version == PROOF_VERSION:
            declared = fields[-1]
            if len(body) < declared:
                raise FormatError(f"proof is truncated: its body has {len(body)} of {declared} bytes "
                                  "(an incomplete download or copy?)")
            if len(body) > declared:
                raise FormatError(f"{len(body) - declared} unexpected bytes after the proof's end")
        return cls(count, n, body, dict(zip(STATEMENT_PARTS, digests)), version)

    def save(self, path) -> None:
        write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path) -> "Proof":
        return cls.from_bytes(read_bounded(path, MAX_PROOF_BYTES, "proof"))
