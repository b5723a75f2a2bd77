"""Arithmetic in Fr, the scalar field of BLS12-381, and multilinear-extension helpers.

Field elements are Python ints in [0, P). Vectors of field elements are numpy arrays of
dtype=object (numpy loops over Python ints, no interpreter-level loop per element).
"""
from __future__ import annotations

import numpy as np

P = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
INV2 = pow(2, P - 2, P)


def inv(a: int) -> int:
    """Multiplicative inverse; raises on zero."""
    a %= P
    if a == 0:
        raise ZeroDivisionError("inverse of zero in Fr")
    return pow(a, P - 2, P)




def eq_table(point: list[int]) -> np.ndarray:
    """All 2^n values eq(point, b) for b in {0,1}^n; index bit j (from the top) is point[j]."""
    table = np.array([1], dtype=object)
    for r in point:
        # Big-endian variable order: the first coordinate is the most significant index bit.
        table = np.stack([table * ((1 - r) % P) % P, table * r % P], axis=1).ravel()
    return table


def eq_eval(a: list[int], b: list[int]) -> int:
    """eq(a, b) = prod(a_i b_i + (1 - a_i)(1 - b_i))."""
    out = 1
    for x, y in zip(a, b, strict=True):
        out = out * ((x * y + (1 - x) * (1 - y)) % P) % P
    return out


def mle_eval(table: np.ndarray, point: list[int]) -> int:
    """Evaluate the multilinear extension of `table` (length 2^len(point)) at `point`."""
    t = np.asarray(table, dtype=object)
    if len(t) != 1 << len(point):
        raise ValueError("table length does not match the number of variables")
    for r in point:
        half = len(t) // 2
        lo, hi = t[:half], t[half:]
        t = (lo + (hi - lo) * r) % P
    return int(t[0]) % P




LIMB_BITS = 16
N_LIMBS = 16  # 16 x 16 bits = 256 >= 255 bits of Fr


def field_to_limbs(values: np.ndarray) -> np.ndarray:
    """Split field elements into 16-bit limbs: float64 matrix [len, N_LIMBS]."""
    ints = [int(v) % P for v in values]
    raw = b"".join(v.to_bytes(32, "little") for v in ints)
    limbs = np.frombuffer(raw, dtype="<u2").reshape(len(ints), N_LIMBS)
    return limbs.astype(np.float64)


_TWO_256 = (1 << 256) % P


def limbs_to_field(sums: np.ndarray) -> np.ndarray:
    """Recombine per-limb integer sums [N_LIMBS, k] (signed int64) into k field elements
    sum_j sums[j] 2^(16 j) mod P: the carries are propagated in int64 (arithmetic shifts
    floor, so negative sums work), then one Python int per element."""
    sums = np.asarray(sums, dtype=np.int64)
    k = sums.shape[1]
    limbs = np.empty((k, N_LIMBS), dtype="<u2")
    carry = np.zeros(k, dtype=np.int64)
    for j in range(N_LIMBS):
        t = sums[j] + carry
        limbs[:, j] = t & 0xFFFF
        carry = t >> LIMB_BITS
    raw = limbs.tobytes()
    fb = int.from_bytes
    low = np.empty(k, dtype=object)
    low[:] = [fb(raw[32 * i:32 * i + 32], "little") for i in range(k)]
    return (low + carry.astype(object) * _TWO_256) % P


def limb_sums(v: np.ndarray, m: np.ndarray) -> np.ndarray | None:
    """The exact int64 limb sums [N_LIMBS, k] of v^T M (limbs_to_field turns them into v^T M),
    or None when a partial sum could reach 2^53 (float64 would round)."""
    m = np.asarray(m)
    n = m.shape[0]
    # Python ints: np.abs(INT64_MIN) would overflow to a negative bound.
    bound = max(abs(int(m.max())), abs(int(m.min()))) if m.size else 0
    if (1 << LIMB_BITS) * bound * n >= 1 << 53:
        return None
    limbs = field_to_limbs(v)                      # [n, 16]
    return np.rint(limbs.T @ m.astype(np.float64)).astype(np.int64)    # [16, k], exact integers


def field_vec_times_int_matrix(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """v^T M for a field vector v [n] and a small-integer matrix M [n, k] (the prover's hot path).

    Each field element is split into 16-bit limbs; the limb matrix times M is a float64
    BLAS product, exact while every partial sum stays below 2^53 (checked here).
    """
    sums = limb_sums(v, m)
    if sums is None:
        return _slow_vec_times_matrix(v, m)
    return limbs_to_field(sums)


def _slow_vec_times_matrix(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    mo = np.asarray(m).astype(object)
    return (np.asarray(v, dtype=object) @ mo) % P
