"""Hiding Pedersen commitments on BLS12-381 G1, in Hyrax's matrix layout.

Generators come from RFC 9380 hash-to-G1 (suite BLS12381G1_XMD:SHA-256_SSWU_RO_) with the
domain tag PEDERSEN_DST, so nobody knows a discrete-log relation between them (no setup):
  G_j = H("vector/" || j as 4 bytes big-endian)   the vector generators
  g   = H("value")                                 the scalar-value generator
  h   = H("blinding")                              the blinding generator
A tensor of 2^n entries is laid out as a 2^a x 2^b matrix (a = (n - 4) // 2 rows' variables,
the first coordinates of an evaluation point); each row i is committed as
  C_i = sum_j M[i, j] G_j + rho_i h.
Scalars are committed as C = v g + s h.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import P
from zkml.arith.parallel import pmap

PEDERSEN_DST = b"PROOFBOARD-ZKML-V1-PEDERSEN_BLS12381G1_XMD:SHA-256_SSWU_RO_"

_cache: dict[str, object] = {}


def clear_generator_cache() -> None:
    _cache.clear()


def _gen(label: bytes):
    be = get_backend()
    key = be.name + ":" + label.hex()
    if key not in _cache:
        _cache[key] = be.hash_to_g1(label, PEDERSEN_DST)
    return _cache[key]


def g():
    return _gen(b"value")


def h():
    return _gen(b"blinding")


# G_0 .. G_{8191} as 96-byte affine x || y (big-endian), exactly what hash_to_g1 derives
# (re-derived by tests/zkml/test_primitives.py and scripts/make_generators.py). Loading
# them takes milliseconds; deriving them takes ~0.7 ms each. Later indices are derived.
GENERATOR_FILE = Path(__file__).resolve().parents[1] / "pedersen_generators.bin"
GENERATOR_FILE_SHA256 = "fd3f94a6cae5ab31ee78e7772f175bb91c6b2b4515939a5e5fb311bfd2fb2fce"


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
    key = be.name + ":vector"
    if key not in _cache:
        data = _generator_file_bytes()
        _cache[key] = [be.from_affine_xy_trusted(data[i:i + 96]) for i in range(0, len(data), 96)]
    gens = _cache[key]
    while len(gens) < n:
        gens.append(derive_vector_generator(len(gens)))
    return gens[:n]


def native_msm_enabled() -> bool:
    """Whether commit_tensor may use the compiled MSM (zkml/g1_native.py): only on the
    arkworks backend (py_ecc stays an independent reference), when the library loads, and
    unless $ZKML_NATIVE_MSM is "0" (read at every call)."""
    if os.environ.get("ZKML_NATIVE_MSM", "1") == "0" or get_backend().name != "arkworks":
        return False
    from zkml.arith import g1_native
    return g1_native.available()


def _native_vector_bases(n: int):
    """The first n vector generators in the native kernel's form (g1_native.PreparedBases),
    extended as more are asked for (~1 µs a point)."""
    from zkml.arith import g1_native
    be = get_backend()
    gens = vector_generators(n)
    prepared = _cache.setdefault(be.name + ":vector:native", g1_native.PreparedBases(b""))
    if len(prepared) < n:
        prepared.extend([be.to_affine_xy(p) for p in gens[len(prepared):]])
    return prepared.prefix(n)


def _native_msm(bases, values: np.ndarray):
    """sum values[j] G_j by the compiled kernel (bases = _native_vector_bases(len(values)))."""
    from zkml.arith import g1_native
    be = get_backend()
    xy = g1_native.msm_small(bases, len(values), values)
    return be.identity() if xy is None else be.from_affine_xy_trusted(xy)


def random_scalar(rng=None) -> int:
    """A uniformly random blinding factor (rng: a `random.Random` for reproducible tests)."""
    if rng is not None:
        return rng.randrange(P)
    return secrets.randbelow(P)


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
    key = get_backend().name + ":fixed:" + label.hex()
    if key not in _cache:
        _cache[key] = FixedBase(_gen(label))
    return _cache[key]


def g_times(k: int):
    """k g, through the fixed-base table."""
    return _fixed(b"value").times(k)


def h_times(k: int):
    """k h, through the fixed-base table."""
    return _fixed(b"blinding").times(k)


def commit_scalar(value: int, blind: int):
    be = get_backend()
    return be.add(g_times(value), h_times(blind))


def layout(n_vars: int) -> tuple[int, int]:
    """(row variables, column variables) of a tensor with n_vars variables.

    Rows are commitments in the proof (48 bytes each); columns cost the opening prover and
    verifier O(columns) group operations but only O(log columns) proof bytes (ipa.py), so
    the matrix is wider than square: 2^((n-4)//2) rows."""
    rows = max(0, (n_vars - 4) // 2)
    return rows, n_vars - rows


def msm_ints(points: list, values: np.ndarray):
    """MSM with small signed integer scalars: positive and negative parts kept small."""
    be = get_backend()
    values = np.asarray(values)
    if values.dtype == object:
        return be.msm(points, [int(v) % P for v in values])
    pos = values > 0
    neg = values < 0
    acc = be.identity()
    if pos.any():
        idx = np.nonzero(pos)[0]
        acc = be.msm([points[i] for i in idx], [int(values[i]) for i in idx])
    if neg.any():
        idx = np.nonzero(neg)[0]
        acc = be.sub(acc, be.msm([points[i] for i in idx], [int(-values[i]) for i in idx]))
    return acc


@dataclass
class TensorCommitment:
    """Row commitments of one tensor (public)."""
    n_vars: int
    rows: list

    def to_bytes(self) -> bytes:
        be = get_backend()
        return b"".join(be.to_bytes(r) for r in self.rows)


def commit_tensor(values: np.ndarray, n_vars: int, rng=None) -> tuple[TensorCommitment, list[int]]:
    """Commit a flat tensor of 2^n_vars entries (small ints or field elements); returns blinds."""
    be = get_backend()
    values = np.asarray(values)
    if values.shape != (1 << n_vars,):
        raise ValueError(f"tensor has shape {values.shape}, expected ({1 << n_vars},)")
    a, b = layout(n_vars)
    gens = vector_generators(1 << b)
    matrix = values.reshape(1 << a, 1 << b)
    bases = None  # the compiled MSM's form of gens, when it applies (same group elements)
    if (values.dtype.kind in "iub" and native_msm_enabled()
            and -(1 << 62) < int(values.min()) and int(values.max()) < (1 << 62)):
        bases = _native_vector_bases(1 << b)
    blinds = [random_scalar(rng) for _ in range(1 << a)]

    def row(i: int):
        body = msm_ints(gens, matrix[i]) if bases is None else _native_msm(bases, matrix[i])
        return be.add(body, h_times(blinds[i]))
    return TensorCommitment(n_vars, pmap(row, range(1 << a))), blinds
