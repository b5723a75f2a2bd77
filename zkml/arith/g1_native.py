"""Multi-scalar multiplication on G1 with small signed integer scalars, on the compiled
kernel zkml/native/g1.c (the prover's Pedersen row commitments; see pedersen_prover.commit_tensor).

Points cross the boundary in the 96-byte affine form x || y (48-byte big-endian each; 96 zero
bytes is the identity) of `Backend.to_affine_xy`. `PreparedBases` holds them converted once
to the kernel's form: a C-contiguous numpy uint64 array of shape (n, 12), x and y in
Montgomery form. Curve membership is checked when preparing, subgroup membership is not (the
callers' points are generators whose bytes are pinned or derived by hash-to-curve).
"""
from __future__ import annotations

import ctypes

import numpy as np

from zkml import native

SCALAR_BOUND = 1 << 62  # |scalar| must be below this

_ERRORS = {
    native.G1_ERR_RANGE: "a coordinate is not below the field modulus q",
    native.G1_ERR_NOT_ON_CURVE: "a point is not on the curve y^2 = x^3 + 4",
    native.G1_ERR_SCALAR: "a scalar is out of range (|s| >= 2^62)",
    native.G1_ERR_NOMEM: "out of memory",
    native.G1_ERR_INTERNAL: "internal error",
}


def available() -> bool:
    return native.load() is not None


def _lib() -> ctypes.CDLL:
    lib = native.load()
    if lib is None:
        raise RuntimeError(f"native G1 kernel unavailable: {native.load_error()}")
    return lib


def _prepare(xy: bytes) -> np.ndarray:
    if len(xy) % 96:
        raise ValueError(f"affine points are 96 bytes each; got {len(xy)} bytes")
    n = len(xy) // 96
    out = np.empty((n, 12), dtype=np.uint64)
    if n:
        rc = _lib().g1_prepare(xy, n, out.ctypes.data)
        if rc != native.G1_OK:
            raise ValueError(f"g1_prepare: {_ERRORS.get(rc, f'error code {rc}')}")
    return out


class PreparedBases:
    """Points in the kernel's form. Grows by `extend` (amortised doubling of the storage);
    `prefix(n)` is a view of the first n, sharing the storage (never modified in place)."""

    def __init__(self, xy=b"") -> None:
        """xy: the points' 96-byte affine encodings, concatenated or as a sequence."""
        arr = _prepare(xy if isinstance(xy, (bytes, bytearray)) else b"".join(xy))
        self._buf = arr
        self._n = len(arr)

    @classmethod
    def _view(cls, buf: np.ndarray, n: int) -> "PreparedBases":
        obj = cls.__new__(cls)
        obj._buf, obj._n = buf, n
        return obj

    def __len__(self) -> int:
        return self._n

    @property
    def array(self) -> np.ndarray:
        """The (n, 12) uint64 array (a view; do not modify)."""
        return self._buf[:self._n]

    def extend(self, xy) -> None:
        """Append points (96-byte encodings, concatenated or as a sequence)."""
        new = _prepare(xy if isinstance(xy, (bytes, bytearray)) else b"".join(xy))
        total = self._n + len(new)
        if total > len(self._buf):
            # A fresh buffer: prefixes handed out earlier keep the old one, unchanged.
            buf = np.empty((max(total, 2 * len(self._buf)), 12), dtype=np.uint64)
            buf[:self._n] = self._buf[:self._n]
            self._buf = buf
        self._buf[self._n:total] = new
        self._n = total

    def prefix(self, n: int) -> "PreparedBases":
        if not 0 <= n <= self._n:
            raise ValueError(f"prefix({n}) of {self._n} prepared points")
        return self._view(self._buf, n)


def msm_small(bases: PreparedBases, n: int, scalars: np.ndarray) -> bytes | None:
    """sum scalars[i] P_i over the first n bases, as 96 bytes affine x || y (big-endian);
    None for the identity. scalars: n integers with |s| < 2^62."""
    if not 0 <= n <= len(bases):
        raise ValueError(f"msm_small: n = {n} but {len(bases)} bases")
    s = np.asarray(scalars)
    if s.shape != (n,):
        raise ValueError(f"msm_small: scalars have shape {s.shape}, expected ({n},)")
    if s.dtype.kind not in "iub":
        raise TypeError(f"msm_small: scalars must be integers, not {s.dtype}")
    if n and s.dtype.kind == "u" and int(s.max()) >= SCALAR_BOUND:
        raise ValueError("msm_small: a scalar is out of range (|s| >= 2^62)")
    return _call("g1_msm_small", bases, np.ascontiguousarray(s, dtype=np.int64), n)


def _call(kernel: str, bases: PreparedBases, scalars: np.ndarray, n: int) -> bytes | None:
    """Runs an MSM kernel of g1.c: the 96-byte affine result, or None for the identity."""
    out = ctypes.create_string_buffer(96)
    rc = getattr(_lib(), kernel)(bases._buf.ctypes.data, scalars.ctypes.data, n, out)
    if rc == native.G1_IDENTITY:
        return None
    if rc != native.G1_OK:
        raise ValueError(f"{kernel}: {_ERRORS.get(rc, f'error code {rc}')}")
    return out.raw


def msm_full_le(bases: PreparedBases, scalars_le, n: int) -> bytes | None:
    """msm_full for n scalars given as 32 little-endian bytes each (bytes or a uint8 array, as
    FrVec.to_le_bytes writes them)."""
    if n > len(bases):
        raise ValueError(f"msm_full: {n} scalars but {len(bases)} bases")
    raw = np.frombuffer(scalars_le, dtype=np.uint8) if isinstance(scalars_le, (bytes, bytearray)) \
        else np.ascontiguousarray(scalars_le, dtype=np.uint8)
    if raw.shape != (32 * n,):
        raise ValueError(f"msm_full: {raw.size} bytes of scalars for {n} scalars")
    packed = raw.view("<u8")
    return _call("g1_msm_full", bases, packed, n)


def msm_full(bases: PreparedBases, scalars: list[int]) -> bytes | None:
    """sum scalars[i] P_i over the first len(scalars) bases for scalars in [0, 2^256), as 96
    bytes affine x || y; None for the identity (the dot-product prover's MSMs)."""
    try:
        packed = b"".join(int(s).to_bytes(32, "little") for s in scalars)
    except OverflowError:
        raise ValueError("msm_full: a scalar is negative or has more than 256 bits") from None
    return msm_full_le(bases, packed, len(scalars))
