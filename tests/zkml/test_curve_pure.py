"""The pure-Python backend's own algorithms on py_ecc's group law (Pippenger MSMs, sliding-window
multiplication) give the same points as py_ecc's plain multiply and as arkworks, including on
the edge cases: zero, one, P - 1 and P, repeated and cancelling points, and points outside the
prime-order subgroup (which the verifier decodes; scalars are taken mod P on both backends)."""
import random

import pytest
from py_ecc.fields import optimized_bls12_381_FQ as FQ

from zkml.arith import curve
from zkml.arith.field import P

py_ecc = curve.PyEccBackend()
ark = curve.ArkworksBackend()
oc = py_ecc._oc


def naive(points, scalars):
    """sum k_i P_i one py_ecc multiply at a time (what the backend did before)."""
    acc = oc.Z1
    for pt, k in zip(points, scalars, strict=True):
        if k % P:
            acc = oc.add(acc, oc.multiply(pt, k % P))
    return acc


def outside_subgroup():
    """A point of E(F_p) outside the prime-order subgroup (r times it is not the identity)."""
    x = 1
    while True:
        rhs = FQ(x) ** 3 + FQ(4)
        y = rhs ** ((FQ.field_modulus + 1) // 4)
        if y * y == rhs:
            point = (FQ(x), y, FQ.one())
            assert not oc.is_inf(oc.multiply(point, P))
            return point
        x += 1


@pytest.fixture(scope="module")
def points():
    rng = random.Random(5)
    g = py_ecc.hash_to_g1(b"test_curve_pure", b"PROOFBOARD-TEST")
    pts = [g]
    for _ in range(39):
        pts.append(oc.add(pts[-1], oc.multiply(g, rng.randrange(1, 1 << 64))))
    return pts


def agrees(points, scalars):
    got = py_ecc.msm(points, scalars)
    want = ark.msm([ark.from_bytes(py_ecc.to_bytes(p)) for p in points], scalars)
    return oc.eq(got, naive(points, scalars)) and py_ecc.to_bytes(got) == ark.to_bytes(want)


def test_msm_matches_one_multiplication_per_point_and_arkworks(points):
    rng = random.Random(8)
    for n in (0, 1, 2, 5, 40):   # small MSMs multiply point by point, larger ones use buckets
        assert agrees(points[:n], [rng.randrange(P) for _ in range(n)])
        assert agrees(points[:n], [rng.randrange(-128, 128) for _ in range(n)])
        assert agrees(points[:n], [rng.choice([0, 1, 2, P - 1, P, P + 3]) for _ in range(n)])
    g, h = points[0], points[1]
    assert agrees([g] * 20 + [h] * 20, [rng.randrange(P) for _ in range(40)])   # repeated points
    assert agrees([g] * 20 + [oc.neg(g)] * 20, [7] * 40)                         # they cancel: O
    odd = outside_subgroup()
    assert agrees([odd] * 3 + points[:37], [rng.randrange(P) for _ in range(40)])


def test_multiplication_matches_py_ecc_multiply(points):
    rng = random.Random(9)
    odd = outside_subgroup()
    scalars = list(range(40)) + [P - 1, P, P + 1, 1 << 254, (1 << 200) | 1] + [rng.randrange(P) for _ in range(10)]
    for point in (points[3], odd):
        for k in scalars:
            want = oc.multiply(point, k % P) if k % P else oc.Z1
            assert oc.eq(py_ecc.mul(point, k), want), k
