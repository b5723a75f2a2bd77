"""NativeFrVec: the interface of frvec.PyFrVec on the compiled kernel zkml/native/fr.c.

A vector is a C-contiguous numpy uint64 array of shape (n, 4): each row one element in
Montgomery form (4 little-endian 64-bit limbs, < P). Scalars and results cross the ctypes
boundary as canonical 32-byte little-endian integers. Every method returns a new vector
(lo/hi return views of the same, never modified, storage); inputs are never modified.
"""
from __future__ import annotations

import ctypes

import numpy as np

from zkml import native
from zkml.arith.field import P
from zkml.arith.parallel import pmap, workers

# Vectors at least this long are processed by all threads, each on a range of entries
# (the kernel releases the GIL); results are identical to one call.
PARALLEL_MIN = 1 << 14
ELEMENT_BYTES = 32


def _lib() -> ctypes.CDLL:
    lib = native.load()
    if lib is None:
        raise RuntimeError(f"native Fr kernel unavailable: {native.load_error()}")
    return lib


def _scalar(c) -> bytes:
    return (int(c) % P).to_bytes(32, "little")


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


def _empty(n: int) -> np.ndarray:
    return np.empty((n, 4), dtype=np.uint64)


def _ranges(n: int) -> list[tuple[int, int]]:
    """[start, end) ranges covering 0..n, one per thread (one range for short vectors)."""
    k = workers() if n >= PARALLEL_MIN else 1
    step = -(-n // k) if n else 1
    return [(i, min(n, i + step)) for i in range(0, n, step)] or [(0, 0)]


def _ints_from_bytes(raw: bytes) -> np.ndarray:
    fb = int.from_bytes
    out = np.empty(len(raw) // 32, dtype=object)
    out[:] = [fb(raw[i:i + 32], "little") for i in range(0, len(raw), 32)]
    return out


class NativeFrVec:
    """Elements of Fr in Montgomery form, operated on by the C kernel."""

    name = "native"

    def __init__(self, limbs: np.ndarray) -> None:
        if limbs.dtype != np.uint64 or limbs.ndim != 2 or limbs.shape[1] != 4:
            raise ValueError("NativeFrVec wants a uint64 array of shape (n, 4)")
        self.v = np.ascontiguousarray(limbs)

    # -- conversion ----------------------------------------------------------------------
    @classmethod
    def from_ints(cls, values) -> "NativeFrVec":
        """From an integer array (signed values, taken mod P) or a sequence of Python ints."""
        arr = values if isinstance(values, np.ndarray) else np.asarray(values)
        if arr.ndim != 1:
            raise ValueError("from_ints wants a one-dimensional sequence")
        if not isinstance(values, np.ndarray) and arr.dtype.kind not in "ib":
            arr = np.array(values, dtype=object)  # big or mixed Python ints: no float/uint detour
        kind = arr.dtype.kind
        if kind in "ibf" or (kind == "u" and arr.dtype.itemsize < 8):
            src = np.ascontiguousarray(arr.astype(np.int64, copy=False))
            out = _empty(len(src))
            _lib().fr_from_i64(_ptr(out), _ptr(src), len(src))
            return cls(out)
        if kind == "u":  # uint64: zero-extend to 256-bit little-endian limbs
            wide = np.zeros((len(arr), 4), dtype="<u8")
            wide[:, 0] = arr
            return cls._from_bytes(wide.tobytes(), len(arr))
        if kind != "O":
            raise TypeError(f"from_ints: unsupported dtype {arr.dtype}")
        try:
            red = arr % P
        except (OverflowError, TypeError):  # numpy integer scalars inside an object array
            red = np.array([int(x) % P for x in arr], dtype=object)
        return cls._from_bytes(b"".join([x.to_bytes(32, "little") for x in red]), len(red))

    @classmethod
    def affine_ints(cls, const: int, terms: list[tuple[np.ndarray, int]], n: int | None = None) -> "NativeFrVec":
        """const + sum coef * values elementwise, for signed int64 value arrays (n entries
        when there are no terms), in one pass of the kernel per 8 terms: the lookup leaves."""
        n = len(terms[0][0]) if terms else int(n)
        out = _empty(n)
        if not terms and int(const) % P == 0:
            out.fill(0)                       # 0 is all-zero limbs in Montgomery form too
            return cls(out)
        arrays = [np.ascontiguousarray(np.asarray(v, dtype=np.int64)) for v, _ in terms]
        if any(len(a) != n for a in arrays):
            raise ValueError("affine_ints: value arrays of different lengths")
        coefs, cb, f = b"".join(_scalar(c) for _, c in terms), _scalar(const), _lib().fr_affine_i64

        def part(rg: tuple[int, int]) -> None:
            ptrs = (ctypes.c_void_p * max(1, len(arrays)))(*[_ptr(a) + 8 * rg[0] for a in arrays])
            f(_ptr(out) + rg[0] * ELEMENT_BYTES, cb, ptrs, coefs, len(arrays), rg[1] - rg[0])
        pmap(part, _ranges(n))
        return cls(out)

    @classmethod
    def _from_bytes(cls, raw: bytes, n: int) -> "NativeFrVec":
        out = _empty(n)
        _lib().fr_from_bytes(_ptr(out), raw, n)
        return cls(out)

    def to_ints(self) -> np.ndarray:
        """An object array of Python ints in [0, P)."""
        n = len(self)
        raw = np.empty(32 * n, dtype=np.uint8)
        _lib().fr_to_bytes(_ptr(raw), _ptr(self.v), n)
        return _ints_from_bytes(raw.tobytes())

    def to_le_bytes(self) -> np.ndarray:
        """32 bytes per entry, little-endian, canonical (< P), as a uint8 array: the MSM
        kernels' scalars, without a detour through Python ints."""
        n = len(self)
        raw = np.empty(32 * n, dtype=np.uint8)
        _lib().fr_to_bytes(_ptr(raw), _ptr(self.v), n)
        return raw

    @classmethod
    def eq_table(cls, point: list[int]) -> "NativeFrVec":
        """eq(point, b) for every b in {0,1}^n, big-endian (as field.eq_table)."""
        point = list(point)
        out = _empty(1 << len(point))
        _lib().fr_eq_table(_ptr(out), b"".join(_scalar(r) for r in point), len(point))
        return cls(out)

    @classmethod
    def concat(cls, parts: list["NativeFrVec"]) -> "NativeFrVec":
        return cls(np.concatenate([p.v for p in parts]))

    def slice(self, start: int, stop: int) -> "NativeFrVec":
        """Entries start .. stop (a view, as lo and hi)."""
        return type(self)(self.v[start:stop])

    def take(self, indices: np.ndarray) -> "NativeFrVec":
        """The entries at indices (an int array), in that order."""
        return type(self)(self.v[np.asarray(indices, dtype=np.int64)])

    def write(self, start: int, part: "NativeFrVec") -> None:
        """Overwrite entries start .. start + len(part) (builds long vectors without a copy)."""
        self.v[start:start + len(part)] = part.v

    def __len__(self) -> int:
        return self.v.shape[0]

    # -- elementwise ---------------------------------------------------------------------
    def lo(self) -> "NativeFrVec":
        """First half (the entries whose first variable is 0)."""
        return type(self)(self.v[:len(self) // 2])

    def hi(self) -> "NativeFrVec":
        return type(self)(self.v[len(self) // 2:])

    def _binary(self, fn: str, other: "NativeFrVec") -> "NativeFrVec":
        n = _same_len(self, other)
        out = _empty(n)
        f, o, a, b = getattr(_lib(), fn), _ptr(out), _ptr(self.v), _ptr(other.v)
        pmap(lambda r: f(o + r[0] * ELEMENT_BYTES, a + r[0] * ELEMENT_BYTES,
                         b + r[0] * ELEMENT_BYTES, r[1] - r[0]), _ranges(n))
        return type(self)(out)

    def _elementwise_scalar(self, fn: str, c: int) -> "NativeFrVec":
        """out[i] = fn(self[i], c), in ranges over the threads."""
        n = len(self)
        out = _empty(n)
        f, o, a, cb = getattr(_lib(), fn), _ptr(out), _ptr(self.v), _scalar(c)
        pmap(lambda r: f(o + r[0] * ELEMENT_BYTES, a + r[0] * ELEMENT_BYTES, cb, r[1] - r[0]), _ranges(n))
        return type(self)(out)

    @staticmethod
    def _fold_into(out: np.ndarray, src: np.ndarray, r: int) -> None:
        """out = src.lo + r (src.hi - src.lo), in ranges over the threads."""
        half = len(src) // 2
        f, o, a, rb = _lib().fr_fold_part, _ptr(out), _ptr(src), _scalar(r)
        pmap(lambda rg: f(o, a, rb, half, rg[0], rg[1]), _ranges(half))

    def add(self, other: "NativeFrVec") -> "NativeFrVec":
        return self._binary("fr_add", other)

    def sub(self, other: "NativeFrVec") -> "NativeFrVec":
        return self._binary("fr_sub", other)

    def mul(self, other: "NativeFrVec") -> "NativeFrVec":
        return self._binary("fr_mul", other)

    def scale(self, c: int) -> "NativeFrVec":
        return self._elementwise_scalar("fr_scale", c)

    def add_const(self, c: int) -> "NativeFrVec":
        return self._elementwise_scalar("fr_add_const", c)

    def fold(self, r: int) -> "NativeFrVec":
        """lo + r (hi - lo): binds the first variable to r."""
        if len(self) % 2:
            raise ValueError("fold needs an even length")
        out = _empty(len(self) // 2)
        self._fold_into(out, self.v, r)
        return type(self)(out)

    def fold_halves(self, r: int) -> "NativeFrVec":
        """Folds each half separately (binds the second variable): the fraction-layer tables
        keep the tree's child bit on top until the end of their sumcheck."""
        if len(self) % 4:
            raise ValueError("fold_halves needs a length divisible by 4")
        quarter = len(self) // 4
        out = _empty(2 * quarter)
        self._fold_into(out[:quarter], self.v[:2 * quarter], r)
        self._fold_into(out[quarter:], self.v[2 * quarter:], r)
        return type(self)(out)

    @staticmethod
    def fraction_parent(p: "NativeFrVec", q: "NativeFrVec") -> tuple["NativeFrVec", "NativeFrVec"]:
        """The fraction tree's layer above: (p_lo q_hi + p_hi q_lo, q_lo q_hi), in one pass."""
        n = _same_len(p, q)
        if n % 2:
            raise ValueError("fraction_parent needs an even length")
        half = n // 2
        out_p, out_q = _empty(half), _empty(half)
        f, op, oq, a, b = _lib().fr_fraction_parent, _ptr(out_p), _ptr(out_q), _ptr(p.v), _ptr(q.v)
        pmap(lambda rg: f(op, oq, a, b, half, rg[0], rg[1]), _ranges(half))
        return NativeFrVec(out_p), NativeFrVec(out_q)

    # -- reductions ------------------------------------------------------------------------
    def sum(self) -> int:
        out = ctypes.create_string_buffer(32)
        _lib().fr_sum(out, _ptr(self.v), len(self))
        return int.from_bytes(out.raw, "little")

    def dot(self, other: "NativeFrVec") -> int:
        n = _same_len(self, other)
        out = ctypes.create_string_buffer(32)
        _lib().fr_dot(out, _ptr(self.v), _ptr(other.v), n)
        return int.from_bytes(out.raw, "little")

    # -- fused kernels -----------------------------------------------------------------------
    @staticmethod
    def gkr_round(E: "NativeFrVec", p: "NativeFrVec", q: "NativeFrVec", lam: int,
                  want_one: bool = False) -> tuple[int, int | None, int]:
        """(h(0), h(1) or None, h(2)) of one fraction-layer round (see PyFrVec.gkr_round):
        E has 2^j entries, p and q 2^(j+2)."""
        e = len(E)
        if e < 1 or len(p) != 4 * e or len(q) != 4 * e:
            raise ValueError(f"gkr_round: lengths E={e}, p={len(p)}, q={len(q)}; "
                             "want len(p) = len(q) = 4 len(E) >= 4")
        f, args = _lib().fr_gkr_round, (_ptr(E.v), _ptr(p.v), _ptr(q.v), _scalar(lam), e, int(want_one))

        def part(rg: tuple[int, int]) -> list[int]:
            out = ctypes.create_string_buffer(96)
            f(out, *args, rg[0], rg[1])
            return [int.from_bytes(out.raw[k:k + 32], "little") for k in (0, 32, 64)]
        sums = [sum(col) % P for col in zip(*pmap(part, _ranges(e)))]
        h1 = sums[1] if want_one else None
        return sums[0], h1, sums[2]


def _same_len(a, b) -> int:
    if len(a) != len(b):
        raise ValueError(f"length mismatch: {len(a)} != {len(b)}")
    return len(a)
