"""Vectors of Fr elements for the prover's hot loops, with one reference implementation.

`PyFrVec` keeps Python ints in numpy object arrays: it is the reference the compiled
kernel (zkml/native) is tested against, and the fallback when no C compiler is available.
`FrVec` is the fastest implementation that loaded: zkml.arith.frvec_native.NativeFrVec when the
kernel builds (set ZKML_FRVEC=python to force the reference). Every method returns a new vector;
inputs are never modified. Lengths of binary operands must match.
"""
from __future__ import annotations

import numpy as np

from zkml.arith.field import P, eq_table


class PyFrVec:
    """Reference implementation: elements are Python ints in [0, P)."""

    name = "python"

    def __init__(self, values: np.ndarray) -> None:
        self.v = values

    # -- conversion ----------------------------------------------------------------------
    @classmethod
    def from_ints(cls, values) -> "PyFrVec":
        """From an int64 array (signed values, taken mod P) or a sequence of Python ints."""
        arr = np.asarray(values)
        if not isinstance(values, np.ndarray) and arr.dtype.kind not in "ib":
            # numpy turns [2**63] into uint64 and [2**63, -1] into float64: keep Python ints
            arr = np.array(values, dtype=object)
        if arr.dtype.kind == "u":
            arr = arr.astype(object)            # uint64 would wrap through int64
        elif arr.dtype != object:
            arr = arr.astype(np.int64).astype(object)
        return cls(arr % P)

    @classmethod
    def affine_ints(cls, const: int, terms: list[tuple[np.ndarray, int]], n: int | None = None) -> "PyFrVec":
        """const + sum coef * values elementwise, for signed int64 value arrays (n entries
        when there are no terms): the lookup leaves in one pass (logup_prover.LookupLeaves)."""
        n = len(terms[0][0]) if terms else int(n)
        out = np.full(n, int(const) % P, dtype=object)
        for values, coef in terms:
            out = (out + np.asarray(values).astype(object) * (int(coef) % P)) % P
        return cls(out)

    def to_ints(self) -> np.ndarray:
        """An object array of Python ints in [0, P)."""
        return self.v.copy()

    def to_le_bytes(self) -> bytes:
        """32 bytes per entry, little-endian, canonical (< P): the MSM kernels' scalars."""
        return b"".join(int(x).to_bytes(32, "little") for x in self.v)

    @classmethod
    def eq_table(cls, point: list[int]) -> "PyFrVec":
        """eq(point, b) for every b in {0,1}^n, big-endian (as field.eq_table)."""
        return cls(eq_table([int(r) % P for r in point]))

    @classmethod
    def concat(cls, parts: list["PyFrVec"]) -> "PyFrVec":
        return cls(np.concatenate([p.v for p in parts]))

    def slice(self, start: int, stop: int) -> "PyFrVec":
        """Entries start .. stop (a view: vectors are never modified in place but by write)."""
        return type(self)(self.v[start:stop])

    def take(self, indices: np.ndarray) -> "PyFrVec":
        """The entries at indices (an int array), in that order."""
        return type(self)(self.v[np.asarray(indices, dtype=np.int64)])

    def write(self, start: int, part: "PyFrVec") -> None:
        """Overwrite entries start .. start + len(part) (builds long vectors without a copy)."""
        self.v[start:start + len(part)] = part.v

    def __len__(self) -> int:
        return len(self.v)

    # -- elementwise ---------------------------------------------------------------------
    def lo(self) -> "PyFrVec":
        """First half (the entries whose first variable is 0)."""
        return type(self)(self.v[:len(self.v) // 2])

    def hi(self) -> "PyFrVec":
        return type(self)(self.v[len(self.v) // 2:])

    def add(self, other: "PyFrVec") -> "PyFrVec":
        _same_len(self, other)
        return type(self)((self.v + other.v) % P)

    def sub(self, other: "PyFrVec") -> "PyFrVec":
        _same_len(self, other)
        return type(self)((self.v - other.v) % P)

    def mul(self, other: "PyFrVec") -> "PyFrVec":
        _same_len(self, other)
        return type(self)((self.v * other.v) % P)

    def scale(self, c: int) -> "PyFrVec":
        return type(self)((self.v * (int(c) % P)) % P)

    def add_const(self, c: int) -> "PyFrVec":
        return type(self)((self.v + (int(c) % P)) % P)

    def fold(self, r: int) -> "PyFrVec":
        """lo + r (hi - lo): binds the first variable to r."""
        if len(self.v) % 2:
            raise ValueError("fold needs an even length")
        half = len(self.v) // 2
        lo, hi = self.v[:half], self.v[half:]
        return type(self)((lo + (hi - lo) * (int(r) % P)) % P)

    def fold_halves(self, r: int) -> "PyFrVec":
        """Folds each half separately (binds the second variable): the fraction-layer tables
        keep the tree's child bit on top until the end of their sumcheck."""
        if len(self.v) % 4:
            raise ValueError("fold_halves needs a length divisible by 4")
        half = len(self.v) // 2
        return type(self)(np.concatenate([type(self)(self.v[:half]).fold(r).v,
                                          type(self)(self.v[half:]).fold(r).v]))

    @staticmethod
    def fraction_parent(p: "PyFrVec", q: "PyFrVec") -> tuple["PyFrVec", "PyFrVec"]:
        """The fraction tree's layer above: (p_lo q_hi + p_hi q_lo, q_lo q_hi)."""
        _same_len(p, q)
        if len(p) % 2:
            raise ValueError("fraction_parent needs an even length")
        return p.lo().mul(q.hi()).add(p.hi().mul(q.lo())), q.lo().mul(q.hi())

    # -- reductions ------------------------------------------------------------------------
    def sum(self) -> int:
        return int(np.sum(self.v)) % P if len(self.v) else 0

    def dot(self, other: "PyFrVec") -> int:
        _same_len(self, other)
        return int(np.dot(self.v, other.v)) % P if len(self.v) else 0

    # -- fused kernels -----------------------------------------------------------------------
    @staticmethod
    def gkr_round(E: "PyFrVec", p: "PyFrVec", q: "PyFrVec", lam: int,
                  want_one: bool = False) -> tuple[int, int | None, int]:
        """One round of the fraction-layer sumcheck (logup_prover.py) without the round
        variable's eq factor (Gruen 2024, §3).

        p and q have 4h entries, E has h: E[x] = eq(rho_rest, x) over the variables after
        this round's. Writing f0, f1 for the two halves of p or q and f(X, x) for the
        interpolation in the next free variable X (the top bit of a half):
          h(X) = sum_x E[x] [p0 q1 + p1 q0 + lam q0 q1](X, x)
        returns (h(0), h(1) if want_one else None, h(2)).
        """
        e = len(E)
        if e < 1 or len(p) != 4 * e or len(q) != 4 * e:
            raise ValueError(f"gkr_round: lengths E={e}, p={len(p)}, q={len(q)}; "
                             "want len(p) = len(q) = 4 len(E) >= 4")
        half = 2 * e
        out = []
        for x in (0, 1, 2):
            if x == 1 and not want_one:
                out.append(None)
                continue
            p0, p1, q0, q1 = (_at(t, x) for t in (p.v[:half], p.v[half:], q.v[:half], q.v[half:]))
            inner = (p0 * q1 + p1 * q0) % P + (q0 * q1 % P) * (int(lam) % P)
            out.append(int(np.sum((E.v * (inner % P)) % P)) % P)
        return out[0], out[1], out[2]


def _same_len(a, b) -> int:
    if len(a) != len(b):
        raise ValueError(f"length mismatch: {len(a)} != {len(b)}")
    return len(a)


def _at(half_table: np.ndarray, x: int) -> np.ndarray:
    """A table (of 2^k entries, first free variable on top) with that variable set to x."""
    h = len(half_table) // 2
    lo, hi = half_table[:h], half_table[h:]
    return lo if x == 0 else (lo + (hi - lo) * x) % P


def _select():
    """The compiled kernel if it builds and loads, unless ZKML_FRVEC=python."""
    import os

    if os.environ.get("ZKML_FRVEC", "").strip().lower() == "python":
        return PyFrVec
    from zkml import native

    if native.load() is None:
        return PyFrVec
    from zkml.arith.frvec_native import NativeFrVec

    return NativeFrVec


FrVec = _select()


def evaluate_tensors(tensors: list[np.ndarray], point: list[int]) -> list[int]:
    """MLEs of integer or field tensors (2^len(point) entries each) at one point: one eq table."""
    eq = FrVec.eq_table(point)
    return [eq.dot(FrVec.from_ints(values)) for values in tensors]


def evaluate_tensor(values: np.ndarray, point: list[int]) -> int:
    return evaluate_tensors([values], point)[0]
