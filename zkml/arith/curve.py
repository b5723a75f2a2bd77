"""G1 of BLS12-381 behind one small interface, with two interchangeable backends.

`arkworks` (py_arkworks_bls12381, Rust) is used when installed; `py_ecc` (pure Python)
is the reference and always available. Both give byte-identical encodings: points are
the 48-byte compressed form of the ZCash BLS12-381 serialization.
"""
from __future__ import annotations

import hashlib
import os
from typing import Sequence

from zkml.arith.field import P


class Backend:
    """Operations on G1 points; `Point` objects are opaque to callers."""

    name = "abstract"

    def identity(self): ...
    def add(self, a, b): ...
    def neg(self, a): ...
    def mul(self, a, k: int): ...
    def msm(self, points: Sequence, scalars: Sequence[int]): ...
    def eq(self, a, b) -> bool: ...
    def to_bytes(self, a) -> bytes: ...
    def from_bytes(self, data: bytes):
        """The point of a canonical 48-byte compressed encoding on the curve E(F_p), which may lie
        outside the prime-order subgroup: the verifier's checks look only at the subgroup
        component (protocols/group_checks.py, docs/protocol.md §5)."""
    def hash_to_g1(self, msg: bytes, dst: bytes): ...
    def to_affine_xy(self, a) -> bytes: ...
    def from_affine_xy_trusted(self, data: bytes):
        """From 96 bytes x || y (big-endian) WITHOUT curve or subgroup checks: only for data
        whose hash is pinned (pedersen's generator file)."""

    def sub(self, a, b):
        return self.add(a, self.neg(b))

    def is_identity(self, a) -> bool:
        return self.eq(a, self.identity())


class ArkworksBackend(Backend):
    name = "arkworks"
    SPLIT_AT = 2048          # MSMs at least this long are split over the thread pool

    def __init__(self) -> None:
        import py_arkworks_bls12381 as ark
        self._G1 = ark.G1Point
        self._S = ark.Scalar
        self._id = ark.G1Point.identity()

    def _scalar(self, k: int):
        return self._S.from_le_bytes_mod_order((k % P).to_bytes(32, "little"))

    def identity(self):
        return self._id

    def add(self, a, b):
        return a + b

    def neg(self, a):
        return -a

    def mul(self, a, k: int):
        return a * self._scalar(k)

    def msm(self, points, scalars):
        if len(points) == 0:
            return self._id
        points = list(points)
        scalars = [self._scalar(int(k)) for k in scalars]
        if len(points) < self.SPLIT_AT:
            return self._G1.multiexp_unchecked(points, scalars)
        # Big MSMs in chunks on the thread pool (the library releases the GIL).
        from zkml.arith.parallel import pmap, workers
        step = -(-len(points) // workers())
        parts = pmap(lambda i: self._G1.multiexp_unchecked(points[i:i + step], scalars[i:i + step]),
                     range(0, len(points), step))
        out = parts[0]
        for part in parts[1:]:
            out = out + part
        return out

    def eq(self, a, b) -> bool:
        return a == b

    def to_bytes(self, a) -> bytes:
        return bytes(a.to_compressed_bytes())

    def from_bytes(self, data: bytes):
        try:
            # on the curve by construction (y from x); no subgroup check: group_checks.py
            point = self._G1.from_compressed_bytes_unchecked(bytes(data))
            if not data[0] & 0x40 and not any(data[1:]) and not data[0] & 0x1F:
                raise ValueError("x = 0 without the infinity flag")   # as py_ecc decodes it
        except Exception as exc:  # the binding raises plain exceptions
            raise ValueError(f"invalid G1 point encoding: {exc}") from None
        # Only the canonical encoding is accepted (the binding tolerates junk bits in the
        # identity's encoding): one byte string per point on both backends.
        if self.to_bytes(point) != bytes(data):
            raise ValueError("invalid G1 point encoding: not canonical")
        return point

    def hash_to_g1(self, msg: bytes, dst: bytes):
        return self._G1.hash_to_curve(msg, dst)

    def to_affine_xy(self, a) -> bytes:
        return bytes(a.to_xy_bytes_be())

    def from_affine_xy_trusted(self, data: bytes):
        return self._G1.from_xy_bytes_unchecked_be(bytes(data))


class PyEccBackend(Backend):
    name = "py_ecc"

    def __init__(self) -> None:
        from py_ecc.optimized_bls12_381 import optimized_curve as oc
        from py_ecc.bls import g2_primitives as g2p
        from py_ecc.bls import hash_to_curve as h2c
        self._oc, self._g2p, self._h2c = oc, g2p, h2c

    def identity(self):
        return self._oc.Z1

    def add(self, a, b):
        return self._oc.add(a, b)

    def neg(self, a):
        return self._oc.neg(a)

    def mul(self, a, k: int):
        """k a by 4-bit sliding windows on py_ecc's group law: b doublings and about b / 5
        additions for a b-bit k (py_ecc's multiply adds about b / 2 times)."""
        oc, k = self._oc, k % P
        if k < 16:
            return oc.multiply(a, k) if k else oc.Z1
        odd, twice = [a], oc.double(a)                  # odd[i] = (2 i + 1) a
        for _ in range(7):
            odd.append(oc.add(odd[-1], twice))
        acc, i = None, k.bit_length() - 1               # acc: None until the first window
        while i >= 0:
            j = max(i - 3, 0) if (k >> i) & 1 else i    # a window of bits i..j ending in a 1, or one 0 bit
            while (k >> j) & 1 == 0 and j < i:
                j += 1
            for _ in range(i - j + 1 if acc is not None else 0):
                acc = oc.double(acc)
            if (k >> i) & 1:
                digit = odd[((k >> j) & ((1 << (i - j + 1)) - 1)) >> 1]
                acc = digit if acc is None else oc.add(acc, digit)
            i = j - 1
        return acc

    def msm(self, points, scalars):
        """sum k_i P_i by Pippenger's bucket method on py_ecc's group law: about (b / c)(n + 2^(c+1))
        additions for n b-bit scalars in c-bit windows, instead of about 1.2 b n one point at a time."""
        oc = self._oc
        pairs = [(pt, k) for pt, k in zip(points, (int(k) % P for k in scalars), strict=True) if k]
        bits = max((k.bit_length() for _, k in pairs), default=0)
        cost, window = min((-(-bits // c) * (len(pairs) + (2 << c)), c) for c in range(1, 17))
        if cost >= (6 * bits // 5 + 8) * len(pairs):     # a few points: one multiplication each
            acc = oc.Z1
            for pt, k in pairs:
                acc = oc.add(acc, self.mul(pt, k))
            return acc
        mask, total = (1 << window) - 1, None           # None: the identity, never doubled
        for shift in range(-(-bits // window) * window - window, -1, -window):
            if total is not None:
                for _ in range(window):
                    total = oc.double(total)
            buckets = [None] * (mask + 1)
            for pt, k in pairs:
                d = (k >> shift) & mask
                if d:
                    buckets[d] = pt if buckets[d] is None else oc.add(buckets[d], pt)
            running = part = None                        # part = sum over d of d * buckets[d]
            for d in range(mask, 0, -1):
                if buckets[d] is not None:
                    running = buckets[d] if running is None else oc.add(running, buckets[d])
                if running is not None:
                    part = running if part is None else oc.add(part, running)
            if part is not None:
                total = part if total is None else oc.add(total, part)
        return oc.Z1 if total is None else total

    def eq(self, a, b) -> bool:
        return self._oc.eq(a, b)

    def to_bytes(self, a) -> bytes:
        return self._g2p.G1_to_pubkey(a)

    def from_bytes(self, data: bytes):
        try:
            pt = self._g2p.pubkey_to_G1(bytes(data))
        except Exception as exc:
            raise ValueError(f"invalid G1 point encoding: {exc}") from None
        if not self._oc.is_on_curve(pt, self._oc.b):     # no subgroup check: group_checks.py
            raise ValueError("invalid G1 point encoding: not on the curve")
        if self.to_bytes(pt) != bytes(data):
            raise ValueError("invalid G1 point encoding: not canonical")
        return pt

    def hash_to_g1(self, msg: bytes, dst: bytes):
        return self._h2c.hash_to_G1(msg, dst, hashlib.sha256)

    def to_affine_xy(self, a) -> bytes:
        x, y = self._oc.normalize(a)
        return int(x).to_bytes(48, "big") + int(y).to_bytes(48, "big")

    def from_affine_xy_trusted(self, data: bytes):
        fq = self._oc.FQ
        return (fq(int.from_bytes(data[:48], "big")), fq(int.from_bytes(data[48:96], "big")), fq.one())


_BACKENDS = {"arkworks": ArkworksBackend, "py_ecc": PyEccBackend}
_current: Backend | None = None


def get_backend() -> Backend:
    """The active backend: $ZKML_BACKEND if set, else arkworks when installed, else py_ecc."""
    global _current
    if _current is None:
        wanted = os.environ.get("ZKML_BACKEND")
        if wanted:
            _current = _BACKENDS[wanted]()
        else:
            try:
                _current = ArkworksBackend()
            except ImportError:
                _current = PyEccBackend()
    return _current


def set_backend(name: str) -> Backend:
    """Switch backend (tests and benchmarks); returns the new backend."""
    global _current
    _current = _BACKENDS[name]()
    from zkml.commitments import pedersen
    pedersen.clear_generator_cache()
    return _current
