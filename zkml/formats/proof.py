"""PROOF.bin: magic, version, claimed count K, sample count N, the statement digests, the
body's length (since version 4), then the message stream. The digests only serve clear error
messages (a proof for another dataset or commitment is named as such); soundness comes from
the transcript, which absorbs the full statement itself. The length makes a truncated or
extended file a FormatError when it is read, before any verifying."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from zkml.formats.files import read_bounded, write_bytes
from zkml.arith.field import P
from zkml.errors import FormatError

PROOF_MAGIC = b"ZKMPROOF"
# 13: every architecture; the proof's own committed tensors have rows of up to 2^15 entries, one
# column variable more than the model's layout of the largest of them (pedersen.witness_columns),
# and are opened together at one point (commitments/hyrax.py, "one opening for the witness").
# 13 is two or more bits away from every other readable version. 11: the same with rows of the
# model's layout, at most 2^14 (still verified: published bundles). Versions 2, 4 (dense
# networks) and 8 (convolutional ones) opened every tensor per size in the model's layout: they
# still verify, by that opening (witness_opening: PER_SIZE). 8: version 7 with max-pooling proved
# by prod_u D_u = 0 instead of committed selector bits (docs/protocol.md §3); a version-7
# proof is refused by name. 7: version 4's header for a network with convolution or pooling
# layers whose activations are committed with one joint per-sample index; a version-4 proof of
# such a network is refused by name. Each architecture reads only its own legacy versions, so
# one flipped bit in the version is always refused. 4: version 2 + the body's length (4, not
# 3: two bits away from 2). 2: proof protocol v2 (LogUp-GKR).
SELECTOR_VERSION = 7                               # read only to be refused by name
CNN_VERSION = 8
NARROW_ROWS_VERSION = 11
WIDE_ROWS_VERSION = 13
PROOF_VERSION = WIDE_ROWS_VERSION
LENGTH_VERSIONS = (4, SELECTOR_VERSION, CNN_VERSION, NARROW_ROWS_VERSION, WIDE_ROWS_VERSION)   # the header with the body's length
READABLE_VERSIONS = (2, *LENGTH_VERSIONS)   # 2: made before the length was added
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
    version: int = PROOF_VERSION     # the format it was read from, or made for

    def to_bytes(self, version: int | None = None) -> bytes:
        """The proof file, by default in its own version with the body length (a version-2
        proof is written as 4); `version=2` writes the old format without the body length
        (its messages are the same bytes: only the header differs)."""
        digests = [self.statement[k] for k in STATEMENT_PARTS]
        version = max(self.version, 4) if version is None else version
        if version == 2:
            return _HEADER_V2.pack(PROOF_MAGIC, 2, self.claimed_count, self.n_samples, *digests) + self.body
        if version not in LENGTH_VERSIONS:
            raise ValueError(f"cannot write proof version {version}")
        return _HEADER.pack(PROOF_MAGIC, version, self.claimed_count, self.n_samples, *digests,
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
            accepted = ", ".join(str(v) for v in READABLE_VERSIONS if v != SELECTOR_VERSION)
            raise FormatError(f"unsupported proof version {version}: this verifier reads versions {accepted} "
                              "(prove again with this version of zkml)")
        header = _HEADER if version in LENGTH_VERSIONS else _HEADER_V2
        if len(data) < header.size:
            raise FormatError(f"proof is truncated: {len(data)} bytes, the header alone is {header.size}")
        _, _, count, n, *fields = header.unpack_from(data)
        digests = fields[:len(STATEMENT_PARTS)]
        body = bytes(data[header.size:])
        if version in LENGTH_VERSIONS:
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


# A sharded proof (docs/protocol.md, "Shards"): one proof per contiguous range of samples, each
# hiding its count in a Pedersen commitment C_s; the total K and the sum of the blinds open the
# product of the C_s. Header: magic, version, K, N, the sum of blinds, the 5 statement digests,
# the number of shards; then per shard: start, stop, C_s (compressed G1), body length, body.
SHARDED_MAGIC = b"ZKMSHARD"
# 9: every architecture, each shard's proof as PROOF.bin version 13 (one opening for the proof's
# own tensors, rows of up to 2^15; 9 is two or more bits away from 2, 3 and 4). Legacy, still
# verified: 4, each shard as PROOF.bin version 11 (rows of up to 2^14); 3, a network with convolution or pooling layers,
# max-pooling proved without selectors (as PROOF.bin version 8; a version-2 file of such a
# network is refused by name), and 2, dense-only networks; each architecture accepts only its
# own legacy version. Version 1 laid out a convolutional network's activations per dimension;
# it is not read: prove again.
SHARDED_VERSION = 2
SHARDED_CNN_VERSION = 3
SHARDED_NARROW_ROWS_VERSION = 4
SHARDED_WIDE_ROWS_VERSION = 9
SHARDED_VERSIONS = (SHARDED_VERSION, SHARDED_CNN_VERSION, SHARDED_NARROW_ROWS_VERSION, SHARDED_WIDE_ROWS_VERSION)
MAX_SHARDS = 4096
POINT_BYTES = 48
_SHARDED_HEADER = struct.Struct(">8sHQQ32s32s32s32s32s32sI")
_SHARD_HEADER = struct.Struct(">QQ48sQ")


@dataclass
class ShardPart:
    start: int
    stop: int
    count_commitment: bytes       # compressed G1: g^{K_s} h^{blind_s}
    body: bytes


@dataclass
class ShardedProof:
    claimed_count: int
    n_samples: int
    blind: int                    # sum of the shards' blinds mod P
    statement: dict[str, bytes]
    shards: list[ShardPart]
    version: int = SHARDED_WIDE_ROWS_VERSION

    def to_bytes(self) -> bytes:
        digests = [self.statement[k] for k in STATEMENT_PARTS]
        out = [_SHARDED_HEADER.pack(SHARDED_MAGIC, self.version, self.claimed_count, self.n_samples,
                                    int(self.blind).to_bytes(32, "big"), *digests, len(self.shards))]
        for s in self.shards:
            out.append(_SHARD_HEADER.pack(s.start, s.stop, s.count_commitment, len(s.body)))
            out.append(s.body)
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> "ShardedProof":
        """Parse a whole sharded proof file; every shard's body has exactly its declared length."""
        data = bytes(data)
        if len(data) > MAX_PROOF_BYTES:
            raise FormatError(f"proof is larger than {MAX_PROOF_BYTES} bytes")
        if not data.startswith(SHARDED_MAGIC):
            raise FormatError("not a sharded proof file (bad magic bytes)")
        if len(data) >= _PREFIX.size and _PREFIX.unpack_from(data)[1] not in SHARDED_VERSIONS:
            raise FormatError(f"unsupported sharded proof version {_PREFIX.unpack_from(data)[1]}: this verifier "
                              f"reads versions {', '.join(map(str, SHARDED_VERSIONS))} (prove again with this "
                              "version of zkml)")
        if len(data) < _SHARDED_HEADER.size:
            raise FormatError(f"proof is truncated: {len(data)} bytes, the header alone is {_SHARDED_HEADER.size}")
        _, version, count, n, blind, *fields = _SHARDED_HEADER.unpack_from(data)
        digests, n_shards, blind = fields[:len(STATEMENT_PARTS)], fields[-1], int.from_bytes(blind, "big")
        if blind >= P:
            raise FormatError("the sharded proof's blinding sum is not a canonical field element")
        if not 1 <= n_shards <= MAX_SHARDS:
            raise FormatError(f"a sharded proof has 1 to {MAX_SHARDS} shards, this one declares {n_shards}")
        pos, shards = _SHARDED_HEADER.size, []
        for i in range(n_shards):
            if len(data) < pos + _SHARD_HEADER.size:
                raise FormatError(f"proof is truncated in shard {i + 1} of {n_shards} (an incomplete download or copy?)")
            start, stop, point, length = _SHARD_HEADER.unpack_from(data, pos)
            pos += _SHARD_HEADER.size
            if len(data) < pos + length:
                raise FormatError(f"proof is truncated: shard {i + 1} of {n_shards} has "
                                  f"{len(data) - pos} of {length} bytes (an incomplete download or copy?)")
            shards.append(ShardPart(start, stop, point, data[pos:pos + length]))
            pos += length
        if pos != len(data):
            raise FormatError(f"{len(data) - pos} unexpected bytes after the proof's end")
        return cls(count, n, blind, dict(zip(STATEMENT_PARTS, digests)), shards, version)

    def save(self, path) -> None:
        write_bytes(path, self.to_bytes())


def read_proof(data: bytes) -> Proof | ShardedProof:
    """A proof file of either kind (PROOF.bin as one proof, or sharded), told by its magic."""
    if bytes(data[:len(SHARDED_MAGIC)]) == SHARDED_MAGIC:
        return ShardedProof.from_bytes(data)
    return Proof.from_bytes(data)


def load_proof(path) -> Proof | ShardedProof:
    return read_proof(read_bounded(path, MAX_PROOF_BYTES, "proof"))


def _has_windows(arch: dict) -> bool:
    return any(layer.get("kind", "dense") != "dense" for layer in arch.get("layers", []))


def file_version(arch: dict) -> int:
    """The version a proof is written in (every architecture: 13)."""
    return WIDE_ROWS_VERSION


def sharded_file_version(arch: dict) -> int:
    """The version a sharded proof is written in (every architecture: 9)."""
    return SHARDED_WIDE_ROWS_VERSION


# How a file version's proofs commit and open their own (witness) tensors:
PER_SIZE = "per size"          # before 11 / sharded 4: the model's layout, one opening per size
NARROW_ROWS = "narrow rows"    # 11 / sharded 4: one opening, rows of the model's columns, at most 2^14
WIDE_ROWS = "wide rows"        # 13 / sharded 9: one opening, rows one column variable wider, at most 2^15


def witness_opening(version: int, sharded: bool = False) -> str:
    """PER_SIZE, NARROW_ROWS or WIDE_ROWS: how proofs of this file version commit and open
    their own tensors (pedersen.witness_columns gives the rows' width of the last two)."""
    narrow, wide = (SHARDED_NARROW_ROWS_VERSION, SHARDED_WIDE_ROWS_VERSION) if sharded else \
        (NARROW_ROWS_VERSION, WIDE_ROWS_VERSION)
    return {narrow: NARROW_ROWS, wide: WIDE_ROWS}.get(version, PER_SIZE)


def version_problem(arch: dict, version: int, sharded: bool = False) -> str | None:
    """Why a proof file (`sharded` or not) of `version` cannot be a proof for `arch` under this
    protocol, or None."""
    if witness_opening(version, sharded) != PER_SIZE:
        return None
    if sharded:
        if _has_windows(arch) and version != SHARDED_CNN_VERSION:
            return (f"this sharded proof (file format version {version}) was made by an older zkml, which "
                    "committed selector bits for max-pooling; this version proves max-pooling by a product of "
                    f"differences (sharded format version {SHARDED_CNN_VERSION}): prove again with this version "
                    "of zkml")
        if not _has_windows(arch) and version == SHARDED_CNN_VERSION:
            return (f"this sharded proof file (format version {version}) is for a network with convolution or "
                    "pooling layers, but the commitment's model has dense layers only")
        return None
    if version == SELECTOR_VERSION and _has_windows(arch):
        return (f"this proof (file format version {version}) was made by an older zkml, which committed "
                "selector bits for max-pooling; this version proves max-pooling by a product of differences "
                f"(format version {CNN_VERSION}): prove again with this version of zkml")
    if version != CNN_VERSION and _has_windows(arch):
        return (f"this proof (file format version {version}) was made by an older zkml, which laid out a "
                "convolutional network's activations per dimension; this version proves and verifies them "
                f"with one joint index (format version {CNN_VERSION}): prove again with this version "
                "of zkml")
    if version in (SELECTOR_VERSION, CNN_VERSION) and not _has_windows(arch):
        return (f"this proof file (format version {version}) is for a network with convolution or pooling "
                "layers, but the commitment's model has dense layers only")
    return None
