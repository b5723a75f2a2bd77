"""PROOF.bin: magic, version, claimed count K, sample count N, the statement digests, then
the message stream. The digests only serve clear error messages (a proof for another dataset
or commitment is named as such); soundness comes from the transcript, which absorbs the
full statement itself."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import FormatError

PROOF_MAGIC = b"ZKMPROOF"
PROOF_VERSION = 2          # 2: proof protocol v2 (LogUp-GKR lookups, reduced openings)
_HEADER = struct.Struct(">8sHQQ32s32s32s32s32s")  # magic, version, K, N, 5 digests (big-endian)
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
                            *(self.statement[k] for k in STATEMENT_PARTS)) + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> "Proof":
        if len(data) > MAX_PROOF_BYTES:
            raise FormatError(f"proof is larger than {MAX_PROOF_BYTES} bytes")
        if len(data) < _HEADER.size:
            raise FormatError(f"proof is truncated: {len(data)} bytes, the header alone is {_HEADER.size}")
        magic, version, count, n, *digests = _HEADER.unpack_from(data)
        if magic != PROOF_MAGIC:
            raise FormatError("not a proof file (bad magic bytes)")
        if version != PROOF_VERSION:
            raise FormatError(f"unsupported proof version {version}: this verifier reads version "
                              f"{PROOF_VERSION} (prove again with this version of zkml)")
        return cls(count, n, bytes(data[_HEADER.size:]), dict(zip(STATEMENT_PARTS, digests)))

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
