"""Hiding Pedersen commitments on BLS12-381 G1, in Hyrax's matrix layout: the definitions
both sides share (generators, layout, scalar commitments, the public row commitments).
Drawing blinds and committing tensors is the prover's half (pedersen_prover.py).

Generators come from RFC 9380 hash-to-G1 (suite BLS12381G1_XMD:SHA-256_SSWU_RO_) with the
domain tag PEDERSEN_DST, so nobody knows a discrete-log relation between them (no setup):
  G_j = H("vector/" || j as 4 bytes big-endian)   the vector generators
  g   = H("value")                                 the scalar-value generator
  h   = H("blinding")                              the blinding generator
A tensor of 2^n entries is laid out as a 2^a x 2^b matrix (a rows' variables, the first
coordinates of an evaluation point; a = (n - 4) // 2 for the model's tensors, a = n - c for
the tensors a proof commits, c <= 15: layout()); each row i is committed as
  C_i = sum_j M[i, j] G_j + rho_i h.
Scalars are committed as C = v g + s h.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from zkml.arith.curve import get_backend
from zkml.arith.field import P

PEDERSEN_DST = b"PROOFBOARD-ZKML-V1-PEDERSEN_BLS12381G1_XMD:SHA-256_SSWU_RO_"

_cache: dict[str, object] = {}


def clear_generator_cache() -> None:
    """Forget every derived generator and table (the backend changed, or a test swapped the file)."""
    _cache.clear()


def cached(key: str, make: Callable[[], object]):
    """The value stored under key (the backend's name first), made on first use."""
    if key not in _cache:
        _cache[key] = make()
    return _cache[key]


def _gen(label: bytes):
    be = get_backend()
    return cached(be.name + ":" + label.hex(), lambda: be.hash_to_g1(label, PEDERSEN_DST))


def g():
    return _gen(b"value")


def h():
    return _gen(b"blinding")


# G_0 .. G_{32767} as 96-byte affine x || y (big-endian), exactly what hash_to_g1 derives
# (re-derived by tests/zkml/test_primitives.py and scripts/make_generators.py). Loading
# them takes milliseconds; deriving them takes ~0.7 ms each. Later indices are derived.
GENERATOR_FILE = Path(__file__).resolve().parents[1] / "pedersen_generators.bin"
GENERATOR_FILE_SHA256 = "23b440c261e8c7641449df52331df30222e2640ade37cf55a0181e2ac96a6d52"


def derive_vector_generator(index: int):
    return get_backend().hash_to_g1(b"vector/" + index.to_bytes(4, "big"), PEDERSEN_DST)


def _generator_file_bytes() -> bytes:
    """The shipped generators' bytes, if the file is there and its hash is the pinned one
    (else b"")."""
    try:
        data = GENERATOR_FILE.read_bytes()
    except OSError:
        return b""
    if hashlib.sha256(data).hexdigest() != GENERATOR_FILE_SHA256 or len(data) % 96:
        return b""
    return data


def vector_generators(n: int) -> list:
    be = get_backend()

    def load() -> list:
        data = _generator_file_bytes()
        return [be.from_affine_xy_trusted(data[i:i + 96]) for i in range(0, len(data), 96)]
    gens = cached(be.name + ":vector", load)
    while len(gens) < n:
        gens.append(derive_vector_generator(len(gens)))
    return gens[:n]


class FixedBase:
    """Multiples of a fixed generator from a table of d 2^(8i) B (i < 32, d < 256): a scalar
    multiplication is at most 32 additions, ~5x faster than a generic one on both backends.
    Exact group arithmetic, so results are identical; timing depends on the scalar's bytes
    (the prover's blinds are ephemeral and the generic multiplication is not constant time
    either)."""

    WINDOW = 8

    def __init__(self, base) -> None:
        be = get_backend()
        self.windows = []
        for _ in range((P.bit_length() + self.WINDOW - 1) // self.WINDOW):
            row = [be.identity(), base]
            for _ in range((1 << self.WINDOW) - 2):
                row.append(be.add(row[-1], base))
            self.windows.append(row)
            base = be.add(row[-1], base)           # 2^8 times this window's base

    def times(self, k: int):
        be = get_backend()
        k %= P
        acc = be.identity()
        i = 0
        while k:
            d = k & 0xFF
            if d:
                acc = be.add(acc, self.windows[i][d])
            k >>= self.WINDOW
            i += 1
        return acc


def _fixed(label: bytes) -> FixedBase:
    return cached(get_backend().name + ":fixed:" + label.hex(), lambda: FixedBase(_gen(label)))


def g_times(k: int):
    """k g, through the fixed-base table."""
    return _fixed(b"value").times(k)


def h_times(k: int):
    """k h, through the fixed-base table."""
    return _fixed(b"blinding").times(k)


def commit_scalar(value: int, blind: int):
    """value g + blind h: a hiding commitment to one field element (the verifier
    forms one to check an opened value)."""
    be = get_backend()
    return be.add(g_times(value), h_times(blind))


# The widest rows of the tensors a proof commits (its witness): 2^15 entries. They are all
# opened together at one point by one dot-product argument of their width (hyrax.py, "one
# opening for the witness"), so wide rows cost the prover one argument, not one per size.
WITNESS_COLUMN_VARS = 15
NARROW_COLUMN_VARS = 14             # proof format 11 / sharded 4: the model's columns, at most 14


def witness_columns(max_vars: int, narrow: bool = False) -> int:
    """c: the column variables of every witness tensor of a proof whose largest witness tensor
    has max_vars variables: one more than that tensor's columns in the model's layout, at most
    15. The witness is opened once per proof, so its rows can be twice as wide as the model's
    (opened once per size): half the row commitments (48 bytes each) for an argument twice as
    long (O(log) bytes, O(2^c c) prover work); never more than the tensor's own variables.
    narrow: the rule of proof format 11 / sharded 4 (the model's columns, at most 14), which
    those files were made with."""
    if narrow:
        return min(NARROW_COLUMN_VARS, layout(max_vars)[1])
    return min(WITNESS_COLUMN_VARS, layout(max_vars)[1] + 1, max_vars)


def layout(n_vars: int, columns: int | None = None) -> tuple[int, int]:
    """(row variables, column variables) of a tensor with n_vars variables.

    Rows are commitments (48 bytes each); columns cost the opening prover and verifier
    O(columns) group operations but only O(log columns) proof bytes (ipa.py). A model tensor
    (in COMMIT.json, opened per size; columns None) has 2^((n-4)//2) rows; a witness tensor
    (in the proof) has rows of 2^columns entries (witness_columns), or one row of 2^n if it is
    smaller."""
    if columns is not None:
        rows = max(0, n_vars - columns)
    else:
        rows = max(0, (n_vars - 4) // 2)
    return rows, n_vars - rows


@dataclass
class TensorCommitment:
    """Row commitments of one tensor (public); columns: a proof's tensor's row width (layout),
    None for a model's tensor."""
    n_vars: int
    rows: list
    columns: int | None = None

    def to_bytes(self) -> bytes:
        be = get_backend()
        return b"".join(be.to_bytes(r) for r in self.rows)
