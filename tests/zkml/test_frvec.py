"""The compiled Fr vector kernel (zkml/native, NativeFrVec) against the reference PyFrVec."""
import os
import random

import numpy as np
import pytest

from zkml import native
from zkml.arith.field import P, eq_table
from zkml.arith.frvec import FrVec, PyFrVec
from zkml.arith.frvec_native import NativeFrVec

I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
EDGES = [0, 1, 2, P - 1, P - 2, P, P + 1, 2 * P - 1, (1 << 256) - 1, -1, -P, -(P + 5),
         I64_MIN, I64_MAX, (1 << 299) + 12345, -(1 << 299) - 7]
LENGTHS = [1, 2, 8, 1024]


def _ints(seed: int, n: int) -> list[int]:
    """n Python ints: mostly uniform in [0, P), then the edge values (both in range and not)."""
    rng = random.Random(seed)
    vals = [rng.randrange(P) for _ in range(n)]
    for i, e in enumerate(EDGES[: max(0, n - 1)]):
        vals[rng.randrange(n)] = e if i % 2 else e % P
    return vals


def _pair(vals):
    return PyFrVec.from_ints(vals), NativeFrVec.from_ints(vals)


def _eq(native_vec, py_vec):
    got, want = native_vec.to_ints(), py_vec.to_ints()
    assert got.dtype == object and isinstance(got, np.ndarray)
    assert all(type(x) is int for x in got)
    assert list(got) == list(want)


def test_native_kernel_is_the_default_backend():
    assert native.load() is not None, native.load_error()  # `make install` builds it
    if os.environ.get("ZKML_FRVEC") == "python":
        assert FrVec is PyFrVec
    else:
        assert FrVec is NativeFrVec and FrVec.name == "native"


def test_same_interface_as_the_reference():
    public = {m for m in vars(PyFrVec) if not m.startswith("_")} | {"__len__"}
    for m in public:
        assert hasattr(NativeFrVec, m), m
        assert type(vars(PyFrVec)[m]) is type(vars(NativeFrVec)[m]), m  # static/class/plain


@pytest.mark.parametrize("vals", [
    EDGES,
    [True, False],
    np.array([0, 1, -1, I64_MIN, I64_MAX, 5, -5], dtype=np.int64),
    np.array([0, 1, -1, -(1 << 31), (1 << 31) - 1], dtype=np.int32),
    np.array([True, False, True]),
    np.array([0, 1, (1 << 63), (1 << 64) - 1], dtype=np.uint64),
    np.array([0, 255], dtype=np.uint8),
    np.array(EDGES, dtype=object),
    [2 ** 63], [2 ** 63, -1], [(1 << 64) - 1, 3], [5, -3], [],
    np.array([], dtype=np.int64),
], ids=lambda v: type(v).__name__ + (str(v.dtype) if isinstance(v, np.ndarray) else str(len(v))))
def test_from_ints_to_ints(vals):
    py_vec, nat = _pair(vals)
    want = [int(x) % P for x in vals]
    assert list(py_vec.to_ints()) == want
    _eq(nat, py_vec)
    assert len(nat) == len(want)


def test_kernel_reduces_any_256_bit_input():
    """fr_from_bytes takes every 32-byte integer (not only canonical ones) mod P."""
    rng = random.Random(5)
    vals = [0, 1, P - 1, P, P + 1, 2 * P - 1, 2 * P, 2 * P + 1, (1 << 255) - 1, (1 << 255),
            (1 << 256) - 1, (1 << 256) - P] + [rng.getrandbits(256) for _ in range(20)]
    raw = b"".join(v.to_bytes(32, "little") for v in vals)
    got = NativeFrVec._from_bytes(raw, len(vals))
    assert list(got.to_ints()) == [v % P for v in vals]


@pytest.mark.parametrize("n", LENGTHS)
def test_elementwise_and_reductions_match_reference(n):
    a_ints, b_ints = _ints(10 + n, n), _ints(20 + n, n)
    (pa, na), (pb, nb) = _pair(a_ints), _pair(b_ints)
    rng = random.Random(n)
    c = rng.randrange(P)
    for k in (c, 0, 1, -1, P - 1, P + 3, -(1 << 300)):
        _eq(na.scale(k), pa.scale(k))
        _eq(na.add_const(k), pa.add_const(k))
    _eq(na.add(nb), pa.add(pb))
    _eq(na.sub(nb), pa.sub(pb))
    _eq(nb.sub(na), pb.sub(pa))
    _eq(na.mul(nb), pa.mul(pb))
    _eq(na.lo(), pa.lo())
    _eq(na.hi(), pa.hi())
    for a, b in ((0, n), (0, 0), (n // 3, n // 2 + 1), (n - 1, n)):
        _eq(na.slice(a, b), pa.slice(a, b))
        assert list(na.slice(a, b).to_ints()) == [x % P for x in a_ints[a:b]]
    rows = np.array([n - 1, 0, n // 2, n - 1, 0], dtype=np.int64)
    _eq(na.take(rows), pa.take(rows))
    assert list(na.take(rows).to_ints()) == [a_ints[i] % P for i in rows]
    _eq(NativeFrVec.concat([na, nb, na.lo()]), PyFrVec.concat([pa, pb, pa.lo()]))
    for got, want in ((na.sum(), pa.sum()), (na.dot(nb), pa.dot(pb))):
        assert type(got) is int and got == want
    # against plain integer arithmetic as well
    assert na.sum() == sum(a_ints) % P
    assert na.dot(nb) == sum(x * y for x, y in zip(a_ints, b_ints)) % P
    # inputs untouched
    assert list(na.to_ints()) == [x % P for x in a_ints]


@pytest.mark.parametrize("n", [2, 8, 1024])
def test_fold_matches_reference(n):
    pa, na = _pair(_ints(30 + n, n))
    for r in (random.Random(n).randrange(P), 0, 1, P - 1, -2, 1 << 280):
        _eq(na.fold(r), pa.fold(r))
        if n % 4 == 0:
            _eq(na.fold_halves(r), pa.fold_halves(r))
    vals = [int(x) for x in pa.to_ints()]
    r, half = 12345, n // 2
    assert list(na.fold(r).to_ints()) == [(vals[i] + r * (vals[half + i] - vals[i])) % P
                                          for i in range(half)]


@pytest.mark.parametrize("nvars", range(11))
def test_eq_table(nvars):
    rng = random.Random(50 + nvars)
    point = [rng.randrange(P) for _ in range(nvars)]
    if nvars >= 3:
        point[0], point[1], point[2] = 0, 1, P - 1
    want = eq_table(point)
    got = NativeFrVec.eq_table(point).to_ints()
    assert len(got) == 1 << nvars and list(got) == list(want)
    _eq(NativeFrVec.eq_table(point), PyFrVec.eq_table(point))
    # unreduced coordinates are taken mod P
    _eq(NativeFrVec.eq_table([r + P for r in point]), PyFrVec.eq_table(point))


def _gkr_brute(E, p, q, lam):
    """Direct definition: h(X) = sum_x E[x] [p0 q1 + p1 q0 + lam q0 q1](X, x), X = 0, 1, 2."""
    h, half = len(E), 2 * len(E)

    def at(t, i, x):
        return t[i] + x * (t[h + i] - t[i])
    out = []
    for x in (0, 1, 2):
        s = 0
        for i in range(h):
            p0, p1 = at(p[:half], i, x), at(p[half:], i, x)
            q0, q1 = at(q[:half], i, x), at(q[half:], i, x)
            s += E[i] * (p0 * q1 + p1 * q0 + lam * q0 * q1)
        out.append(s % P)
    return tuple(out)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 9])
def test_gkr_round(m):
    e = 1 << m
    rng = random.Random(60 + m)
    E_ints, p_ints, q_ints = (_ints(70 + m + k, size) for k, size in ((0, e), (1, 4 * e), (2, 4 * e)))
    lam = rng.randrange(P)
    (pe, ne), (pp, np_), (pq, nq) = _pair(E_ints), _pair(p_ints), _pair(q_ints)
    got = NativeFrVec.gkr_round(ne, np_, nq, lam, want_one=True)
    assert all(type(x) is int for x in got)
    assert got == PyFrVec.gkr_round(pe, pp, pq, lam, want_one=True)
    assert got == _gkr_brute(*(list(v.to_ints()) for v in (pe, pp, pq)), lam)
    assert NativeFrVec.gkr_round(ne, np_, nq, lam - P) == (got[0], None, got[2])  # lam mod P
    # a full round chain: fold by r and compare again
    r = rng.randrange(P)
    if m > 0:
        ne2, pe2 = NativeFrVec.from_ints(E_ints[:e // 2]), PyFrVec.from_ints(E_ints[:e // 2])
        got2 = NativeFrVec.gkr_round(ne2, np_.fold_halves(r), nq.fold_halves(r), lam, True)
        assert got2 == PyFrVec.gkr_round(pe2, pp.fold_halves(r), pq.fold_halves(r), lam, True)


@pytest.mark.parametrize("cls", [NativeFrVec, PyFrVec])
def test_length_checks(cls):
    a, b = cls.from_ints([1, 2, 3, 4]), cls.from_ints([1])
    for op in (a.add, a.sub, a.mul, a.dot, b.add, b.mul):
        with pytest.raises(ValueError):
            op(b if op.__self__ is a else a)
    with pytest.raises(ValueError):
        cls.from_ints([1, 2, 3]).fold(5)
    with pytest.raises(ValueError):
        cls.from_ints([1, 2, 3, 4, 5, 6]).fold_halves(5)
    e2, t8, t4 = cls.from_ints([1] * 2), cls.from_ints([1] * 8), cls.from_ints([1] * 4)
    for args in ((e2, t8, t4), (e2, t4, t8), (cls.from_ints([]), cls.from_ints([]),
                                              cls.from_ints([]))):
        with pytest.raises(ValueError):
            cls.gkr_round(*args, 3)


def test_build_is_up_to_date_and_load_is_cached():
    lib = native.load()
    assert lib is not None and native.load() is lib
    path = native.build()
    assert path.exists() and path.stat().st_mtime >= native.SRC.stat().st_mtime
    leftovers = [f for f in path.parent.iterdir() if f.name.endswith(".tmp")]
    assert leftovers == []


def test_threaded_ranges_give_the_same_results(monkeypatch):
    """With every vector split over threads (PARALLEL_MIN lowered), the compiled kernel still
    equals the reference, for odd-sized ranges too."""
    from zkml.arith import frvec_native
    monkeypatch.setattr(frvec_native, "PARALLEL_MIN", 2)
    monkeypatch.setenv("ZKML_THREADS", "3")
    rng = random.Random(99)
    n = 4 * 12                                   # ranges of unequal length over 3 threads
    a_ints, b_ints, e_ints = _ints(201, n), _ints(202, n), _ints(203, n // 4)
    (pa, na), (pb, nb), (pe, ne) = _pair(a_ints), _pair(b_ints), _pair(e_ints)
    r, lam = rng.randrange(P), rng.randrange(P)
    for op in ("add", "sub", "mul"):
        assert list(getattr(na, op)(nb).to_ints()) == list(getattr(pa, op)(pb).to_ints())
    for op in ("scale", "add_const", "fold", "fold_halves"):
        assert list(getattr(na, op)(r).to_ints()) == list(getattr(pa, op)(r).to_ints())
    assert NativeFrVec.gkr_round(ne, na, nb, lam, True) == PyFrVec.gkr_round(pe, pa, pb, lam, True)
    for got, want in zip(NativeFrVec.fraction_parent(na, nb), PyFrVec.fraction_parent(pa, pb)):
        assert list(got.to_ints()) == list(want.to_ints())


@pytest.mark.parametrize("n_terms", [0, 1, 2, 3, 8, 9, 17])
@pytest.mark.parametrize("threads", ["1", "3"])
def test_affine_ints_matches_reference(n_terms, threads, monkeypatch):
    """const + sum coef * values (the lookup leaves' one-pass kernel) equals the reference for
    signed values up to the int64 extremes, zeros, any coefficients, split over threads, and
    for more terms than one pass of the kernel takes (8)."""
    from zkml.arith import frvec_native
    monkeypatch.setattr(frvec_native, "PARALLEL_MIN", 2)
    monkeypatch.setenv("ZKML_THREADS", threads)
    rng = np.random.default_rng(n_terms)
    n = 37
    terms = []
    for t in range(n_terms):
        values = rng.integers(-(1 << 40), 1 << 40, size=n, dtype=np.int64)
        values[:4] = [0, I64_MIN, I64_MAX, -1]
        terms.append((values, [1, P - 1, random.Random(t).randrange(P)][t % 3]))
    for const in (0, 1, P - 7, random.Random(n_terms).randrange(P)):
        got = NativeFrVec.affine_ints(const, terms, None if terms else n).to_ints()
        want = PyFrVec.affine_ints(const, terms, None if terms else n).to_ints()
        assert list(got) == list(want)
        assert len(got) == n
        if terms:   # the reference itself, entry by entry
            assert int(want[5]) == (const + sum(int(v[5]) * c for v, c in terms)) % P


@pytest.mark.parametrize("n", [2, 8, 1024])
def test_fraction_parent_adds_the_halves_fractions(n):
    """The tree's layer above: p_lo/q_lo + p_hi/q_hi as (p_lo q_hi + p_hi q_lo) / (q_lo q_hi),
    checked entry by entry in plain integers and against the reference."""
    p_ints, q_ints = _ints(301 + n, n), _ints(401 + n, n)
    (pp, np_), (pq, nq) = _pair(p_ints), _pair(q_ints)
    (gp, gq), (wp, wq) = NativeFrVec.fraction_parent(np_, nq), PyFrVec.fraction_parent(pp, pq)
    assert list(gp.to_ints()) == list(wp.to_ints()) and list(gq.to_ints()) == list(wq.to_ints())
    h = n // 2
    for i in (0, h - 1):
        assert int(gp.to_ints()[i]) == (p_ints[i] * q_ints[h + i] + p_ints[h + i] * q_ints[i]) % P
        assert int(gq.to_ints()[i]) == q_ints[i] * q_ints[h + i] % P
    with pytest.raises(ValueError):
        NativeFrVec.fraction_parent(NativeFrVec.from_ints([1, 2, 3]), NativeFrVec.from_ints([1, 2, 3]))
