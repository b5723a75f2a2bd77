"""The compiled G1 MSM (zkml/native/g1.c, zkml/g1_native.py) against the arkworks binding's
multiexp, and its use in pedersen_prover.commit_tensor."""
import random

import numpy as np
import pytest

from zkml import native
from zkml.arith import curve, g1_native
from zkml.commitments import pedersen, pedersen_prover

Q = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
LIMIT = (1 << 62) - 1  # largest allowed |scalar|



def test_native_kernel_loads():
    # `make install` builds it; a library failing its G1 self-test is not loaded (the prover
    # then falls back to the binding), which must not go unnoticed here
    assert native.load() is not None, native.load_error()
    assert pedersen_prover.native_msm_enabled() == (curve.get_backend().name == "arkworks")


@pytest.fixture(scope="module")
def ark():
    return curve.ArkworksBackend()


@pytest.fixture(scope="module")
def gens(ark):
    """The shipped vector generators (a witness row's): (96-byte encodings, arkworks points, prepared)."""
    data = pedersen._generator_file_bytes()
    assert len(data) == 96 << pedersen.WITNESS_COLUMN_VARS
    xy = [data[i:i + 96] for i in range(0, len(data), 96)]
    return xy, [ark.from_affine_xy_trusted(b) for b in xy], g1_native.PreparedBases(data)


def _scalars(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    """Mixed signs, about a quarter zeros, and the extreme values +-(2^bits - 1)."""
    top = (1 << bits) - 1
    s = rng.integers(-top, top + 1, n, dtype=np.int64)
    s[rng.random(n) < 0.25] = 0
    if n >= 3:
        s[rng.integers(n)], s[rng.integers(n)] = top, -top
    return s


def _check(ark, points, prepared, scalars):
    """native == arkworks multiexp, as affine bytes and as compressed bytes."""
    n = len(scalars)
    want = ark.msm(points[:n], [int(v) for v in scalars])
    got = g1_native.msm_small(prepared, n, scalars)
    if got is None:
        assert ark.eq(want, ark.identity())
        return None
    assert got == ark.to_affine_xy(want)
    assert ark.to_bytes(ark.from_affine_xy_trusted(got)) == ark.to_bytes(want)
    return got


@pytest.mark.parametrize("bits", [1, 8, 16, 31, 62])
@pytest.mark.parametrize("n", [1, 2, 3, 17, 1000, 8192])
def test_msm_matches_arkworks(ark, gens, n, bits):
    _, points, prepared = gens
    rng = np.random.default_rng(1000 * n + bits)
    for _ in range(3 if n < 100 else 1):
        _check(ark, points, prepared.prefix(n), _scalars(rng, n, bits))


def test_all_zero_scalars_give_the_identity(gens):
    _, _, prepared = gens
    for n in (0, 1, 5, 8192):
        assert g1_native.msm_small(prepared, n, np.zeros(n, dtype=np.int64)) is None


def test_extreme_scalars(ark, gens):
    _, points, prepared = gens
    for scalars in ([-LIMIT], [LIMIT], [-LIMIT, LIMIT, 0, -LIMIT, 1, -1],
                    [LIMIT] * 40, [-LIMIT] * 17 + [3] * 20):
        _check(ark, points, prepared, np.array(scalars, dtype=np.int64))
    for bad in (1 << 62, -(1 << 62), -(1 << 63), (1 << 63) - 1):
        with pytest.raises(ValueError, match="out of range"):
            g1_native.msm_small(prepared, 2, np.array([1, bad], dtype=np.int64))
    with pytest.raises(ValueError, match="out of range"):
        g1_native.msm_small(prepared, 1, np.array([1 << 63], dtype=np.uint64))


def test_small_special_cases(ark, gens):
    """P + P (doubling inside an addition), P + (-P) (cancellation), identity bases."""
    _, points, _ = gens
    p, q = points[0], points[1]
    neg = ark.neg(p)
    bases = [p, p, neg, q, ark.identity(), neg]
    prepared = g1_native.PreparedBases([ark.to_affine_xy(b) for b in bases])
    assert ark.to_affine_xy(ark.identity()) == bytes(96)
    cases = [[1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0], [3, 0, 3, 0, 0, 0], [1, 1, 1, 0, 0, 1],
             [2, 1, 0, 0, 0, 0], [0, 0, 0, 0, 7, 0], [0, 0, 0, 5, 9, 0], [5, -5, 0, 0, 0, 0],
             [-1, -1, 1, 0, 5, 0], [LIMIT, 0, LIMIT, 0, 0, 0], [LIMIT, LIMIT, 0, 0, 0, 0]]
    for s in cases:
        got = _check(ark, bases, prepared, np.array(s, dtype=np.int64))
        if sum(s[i] * (1, 1, -1, 0, 0, -1)[i] for i in range(6)) == 0 and not s[3]:
            assert got is None, s


@pytest.mark.parametrize("bits", [1, 2, 8, 16, 62])
def test_many_repeated_and_opposite_points(ark, gens, bits):
    """Bases drawn from {G0, -G0, G1, -G1}: buckets and running sums keep meeting equal and
    opposite points (every special case of both additions and of the doubling)."""
    _, points, _ = gens
    choice = [points[0], ark.neg(points[0]), points[1], ark.neg(points[1])]
    rng = np.random.default_rng(bits)
    for n in (4, 64, 1000):
        pick = rng.integers(0, 4 if n > 4 else 2, n)
        bases = [choice[k] for k in pick]
        prepared = g1_native.PreparedBases([ark.to_affine_xy(b) for b in bases])
        _check(ark, bases, prepared, _scalars(rng, n, bits))
        # and a combination that cancels exactly
        s = rng.integers(1, 1 << min(bits, 20), n // 2 * 2, dtype=np.int64)
        half = n // 2
        both = [choice[0]] * half + [choice[1]] * half
        prep2 = g1_native.PreparedBases([ark.to_affine_xy(b) for b in both])
        s[half:] = s[:half]
        assert g1_native.msm_small(prep2, 2 * half, s) is None
        _check(ark, both, prep2, s)


def test_prepare_rejects_bad_coordinates(gens):
    xy, _, _ = gens
    p = xy[0]
    q_be = Q.to_bytes(48, "big")
    for bad in (q_be + p[48:], p[:48] + q_be, b"\xff" * 96, (Q + 1).to_bytes(48, "big") + p[48:]):
        with pytest.raises(ValueError, match="not below the field modulus"):
            g1_native.PreparedBases(xy[1] + bad)
    for bad in (p[:47] + bytes([p[47] ^ 1]) + p[48:], (1).to_bytes(48, "big") * 2):
        with pytest.raises(ValueError, match="not on the curve"):
            g1_native.PreparedBases(bad)
    with pytest.raises(ValueError):
        g1_native.PreparedBases(p[:95])
    assert len(g1_native.PreparedBases(bytes(96))) == 1  # the identity is accepted


def test_prepared_bases_prefix_and_extend(ark, gens):
    xy, points, prepared = gens
    pre = prepared.prefix(10)
    assert len(pre) == 10 and np.shares_memory(pre.array, prepared.array)
    with pytest.raises(ValueError):
        prepared.prefix(len(prepared) + 1)
    grow = g1_native.PreparedBases(xy[:3])
    first = grow.prefix(3)
    before = first.array.copy()
    for k in range(3, 40, 5):
        grow.extend(xy[k:k + 5] if k + 5 <= 40 else xy[k:40])
    assert len(grow) == 40
    assert np.array_equal(grow.array, prepared.array[:40]) and np.array_equal(first.array, before)
    s = _scalars(np.random.default_rng(5), 40, 16)
    _check(ark, points, grow, s)
    with pytest.raises(ValueError):
        g1_native.msm_small(grow, 41, np.zeros(41, dtype=np.int64))
    with pytest.raises(ValueError):
        g1_native.msm_small(grow, 4, np.zeros(5, dtype=np.int64))
    with pytest.raises(TypeError):
        g1_native.msm_small(grow, 2, np.zeros(2))


def test_derived_generators_are_prepared_too(ark):
    if curve.get_backend().name != "arkworks":
        pytest.skip("native bases are kept for the arkworks backend")
    shipped = len(pedersen._generator_file_bytes()) // 96
    n = shipped + 3
    bases = pedersen_prover.native_vector_bases(n)
    assert len(bases) == n
    for i in (0, shipped - 1, shipped, shipped + 2):
        e = np.zeros(n, dtype=np.int64)
        e[i] = 1
        assert g1_native.msm_small(bases, n, e) == ark.to_affine_xy(pedersen.derive_vector_generator(i))
    pedersen.vector_generators(n + 2)  # growing the list grows the prepared copy
    e = np.zeros(n + 2, dtype=np.int64)
    e[-1] = -1
    got = g1_native.msm_small(pedersen_prover.native_vector_bases(n + 2), n + 2, e)
    assert got == ark.to_affine_xy(ark.neg(pedersen.derive_vector_generator(n + 1)))


@pytest.mark.parametrize("kind", ["int64", "int32", "bool", "wide", "object"])
def test_commit_tensor_same_rows_with_and_without_native(monkeypatch, kind):
    if curve.get_backend().name != "arkworks":
        pytest.skip("the native path is only taken on the arkworks backend")
    n = 12
    rng = np.random.default_rng(7)
    values = {
        "int64": rng.integers(-(1 << 15), 1 << 15, 1 << n),
        "int32": rng.integers(-(1 << 31), 1 << 31, 1 << n, dtype=np.int64).astype(np.int32),
        "bool": rng.random(1 << n) < 0.5,
        "wide": rng.integers(-(1 << 62) + 1, 1 << 62, 1 << n),
        "object": np.array([int(v) for v in rng.integers(-100, 100, 1 << n)], dtype=object),
    }[kind]
    values[:1 << pedersen.layout(n)[1]] = 0  # an all-zero first row: the identity
    calls = []
    real = g1_native.msm_small
    monkeypatch.setattr(g1_native, "msm_small", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setenv("ZKML_NATIVE_MSM", "1")
    on, blinds_on = pedersen_prover.commit_tensor(values, n, random.Random(3))
    assert len(calls) == (0 if kind == "object" else len(on.rows))
    monkeypatch.setenv("ZKML_NATIVE_MSM", "0")
    off, blinds_off = pedersen_prover.commit_tensor(values, n, random.Random(3))
    assert len(calls) == (0 if kind == "object" else len(on.rows))  # not called again
    assert blinds_on == blinds_off
    assert on.to_bytes() == off.to_bytes()
    # row 0 is all zeros: its commitment is the blinding term alone
    be = curve.get_backend()
    assert be.to_bytes(on.rows[0]) == be.to_bytes(pedersen.h_times(blinds_on[0]))


def test_native_path_only_on_arkworks(monkeypatch):
    monkeypatch.delenv("ZKML_NATIVE_MSM", raising=False)
    original = curve.get_backend().name
    try:
        curve.set_backend("py_ecc")
        assert not pedersen_prover.native_msm_enabled()
        curve.set_backend("arkworks")
        assert pedersen_prover.native_msm_enabled()
    finally:
        curve.set_backend(original)
    monkeypatch.setenv("ZKML_NATIVE_MSM", "0")
    assert not pedersen_prover.native_msm_enabled()


@pytest.mark.parametrize("n", [1, 2, 17, 1000, 4096])
def test_msm_full_matches_arkworks(ark, gens, n):
    """Full-size scalars (the dot-product prover's): random field elements, with zeros, 1, r - 1
    and 2^255 - 1 mixed in; the same point as the backend's MSM."""
    from zkml.arith.field import P
    _, points, prepared = gens
    rng = np.random.default_rng(n)
    scalars = [int.from_bytes(rng.bytes(32), "big") % P for _ in range(n)]
    for i, special in zip(range(0, n, 3), [0, 1, P - 1, (1 << 255) - 1, 0]):
        scalars[i] = special
    got = g1_native.msm_full(prepared, scalars)
    want = ark.msm(points[:n], [s % P for s in scalars])
    assert (got or bytes(96)) == ark.to_affine_xy(want)      # None: the identity (96 zero bytes)


def test_msm_full_le_takes_the_field_vectors_bytes(ark, gens):
    """msm_full_le on FrVec.to_le_bytes (both field-vector classes) is msm_full on their ints;
    a byte count that is not 32 per scalar is refused."""
    from zkml.arith.field import P
    from zkml.arith.frvec import PyFrVec
    from zkml.arith.frvec_native import NativeFrVec
    _, _, prepared = gens
    rng = np.random.default_rng(7)
    scalars = [0, 1, P - 1] + [int.from_bytes(rng.bytes(32), "big") % P for _ in range(60)]
    want = g1_native.msm_full(prepared, scalars)
    for cls in (PyFrVec, NativeFrVec):
        raw = cls.from_ints(np.array(scalars, dtype=object)).to_le_bytes()
        assert g1_native.msm_full_le(prepared, raw, len(scalars)) == want
    with pytest.raises(ValueError, match="bytes of scalars for 3 scalars"):
        g1_native.msm_full_le(prepared, bytes(95), 3)


def test_msm_full_special_cases(ark, gens):
    """The identity (all zeros, or a cancelling sum), identity bases, and refused scalars."""
    from zkml.arith.field import P
    _, points, prepared = gens
    assert g1_native.msm_full(prepared, []) is None and g1_native.msm_full(prepared, [0] * 9) is None
    p = points[0]
    bases = g1_native.PreparedBases([ark.to_affine_xy(b) for b in (p, p, ark.neg(p), ark.identity())])
    assert g1_native.msm_full(bases, [1, 2, 3, 5]) is None                  # p + 2p - 3p
    assert g1_native.msm_full(bases, [P - 1, 1, 0, 7]) is None              # (r - 1) p + p = r p = O
    assert g1_native.msm_full(bases, [0, 0, 0, 11]) is None                # an identity base
    assert g1_native.msm_full(bases, [(1 << 256) - 1]) == ark.to_affine_xy(ark.mul(p, ((1 << 256) - 1) % P))
    for bad in ([-1], [1 << 256]):
        with pytest.raises(ValueError, match="negative or has more than 256 bits"):
            g1_native.msm_full(bases, bad)
    with pytest.raises(ValueError, match="5 scalars but 4 bases"):
        g1_native.msm_full(bases, [1] * 5)
