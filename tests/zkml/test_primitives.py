"""Field, transcript, curve backends and the sigma / sumcheck / opening building blocks."""
import random

import numpy as np
import pytest

from zkml.arith import curve
from zkml.commitments import hyrax_prover, hyrax_verifier, pedersen, pedersen_prover
from zkml.protocols import sigma_prover, sigma_verifier
from zkml.protocols.channel_prover import ProverChannel
from zkml.protocols.channel_verifier import VerifierChannel
from zkml.errors import FormatError, VerificationError
from zkml.protocols.expr import Term, aff
from zkml.arith.field import (P, eq_eval, eq_table, field_vec_times_int_matrix, inv, mle_eval)
from zkml.protocols.sumcheck_prover import prove_sumcheck
from zkml.protocols.sumcheck_verifier import verify_sumcheck
from zkml.protocols.transcript import Transcript


def test_limb_product_matches_python_ints():
    rng = random.Random(0)
    v = np.array([rng.randrange(P) for _ in range(300)], dtype=object)
    m = np.array([[rng.randrange(-128, 128) for _ in range(7)] for _ in range(300)], dtype=np.int64)
    slow = [sum(int(v[i]) * int(m[i, j]) for i in range(300)) % P for j in range(7)]
    assert list(field_vec_times_int_matrix(v, m)) == slow


@pytest.mark.parametrize("lo,hi", [(-(1 << 15), 1 << 15), (0, 1), (-(1 << 31), -(1 << 30))])
def test_limb_sums_recombine_exactly_with_negative_carries(lo, hi):
    """limbs_to_field propagates signed carries (an all-negative matrix makes every limb sum
    negative) and limb_sums refuses a product whose partial sums could reach 2^53."""
    from zkml.arith.field import limb_sums, limbs_to_field
    rng = random.Random(lo)
    n, k = 40, 9
    v = np.array([rng.choice([0, 1, P - 1, rng.randrange(P)]) for _ in range(n)], dtype=object)
    m = np.array([[rng.randrange(lo, hi) if hi - lo > 1 else lo for _ in range(k)] for _ in range(n)], dtype=np.int64)
    slow = [sum(int(v[i]) * int(m[i, j]) for i in range(n)) % P for j in range(k)]
    sums = limb_sums(v, m)
    if (1 << 16) * max(abs(lo), abs(hi)) * n >= 1 << 53:
        assert sums is None
        assert list(field_vec_times_int_matrix(v, m)) == slow      # the exact slow path instead
    else:
        assert list(limbs_to_field(sums)) == slow
        assert list(limbs_to_field(sums * 3)) == [3 * s % P for s in slow]   # sums of parts add up


def test_mle_and_inverse():
    rng = random.Random(1)
    table = np.array([rng.randrange(P) for _ in range(16)], dtype=object)
    point = [rng.randrange(P) for _ in range(4)]
    assert mle_eval(table, point) == int(np.dot(eq_table(point), table)) % P
    corner = [1, 0, 1, 1]  # index 0b1011 = 11 with the first coordinate most significant
    assert mle_eval(table, corner) == table[11]
    assert eq_eval(point, point) != 0 and inv(3) * 3 % P == 1


def test_transcript_challenges_depend_on_every_absorbed_message():
    def run(label_a, data_a):
        t = Transcript(b"test")
        t.absorb(label_a, data_a)
        t.absorb("b", b"second")
        return t.challenge("c")
    base = run("a", b"first")
    assert run("a", b"first") == base
    assert run("a", b"firsT") != base
    assert run("A", b"first") != base          # labels are domain separators
    assert run("a", b"first\x00") != base      # length-prefixed


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_backends_agree_on_encodings_and_generators(backend):
    be = curve.set_backend(backend)
    try:
        gens = pedersen.vector_generators(3)
        point = be.msm(gens, [5, P - 2, 0])
        encoded = be.to_bytes(point)
        assert be.eq(be.from_bytes(encoded), point)
        assert len(encoded) == 48
        with pytest.raises(ValueError):
            be.from_bytes(b"\x01" * 48)
        # RFC 9380 hash-to-G1 in two independent libraries gives the same generator, and the
        # shipped generator file holds exactly that point (first and last entry)
        assert be.to_bytes(pedersen.derive_vector_generator(0)).hex() == TEST_VECTOR_G0
        assert be.to_bytes(gens[0]).hex() == TEST_VECTOR_G0
        count = len(pedersen.GENERATOR_FILE.read_bytes()) // 96
        last = pedersen.vector_generators(count)[-1]
        assert be.to_bytes(last) == be.to_bytes(pedersen.derive_vector_generator(count - 1))
    finally:
        curve.set_backend("arkworks")


def test_shipped_generator_file_is_the_hash_to_curve_derivation():
    """Every point of zkml/pedersen_generators.bin re-derived; the pinned hash guards the
    file at load time, and a file that fails it is ignored (points derived instead)."""
    import hashlib
    be = curve.set_backend("arkworks")
    data = pedersen.GENERATOR_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == pedersen.GENERATOR_FILE_SHA256
    assert len(data) == 96 << pedersen.WITNESS_COLUMN_VARS     # a witness row's generators
    derived = b"".join(be.to_affine_xy(pedersen.derive_vector_generator(i)) for i in range(len(data) // 96))
    assert derived == data


def test_a_tampered_generator_file_is_not_used(tmp_path, monkeypatch):
    be = curve.set_backend("arkworks")
    data = bytearray(pedersen.GENERATOR_FILE.read_bytes())
    data[5] ^= 1
    bad = tmp_path / "gens.bin"
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(pedersen, "GENERATOR_FILE", bad)
    pedersen.clear_generator_cache()
    try:
        assert be.to_bytes(pedersen.vector_generators(1)[0]) == be.to_bytes(pedersen.derive_vector_generator(0))
    finally:
        pedersen.clear_generator_cache()


TEST_VECTOR_G0 = None  # filled in below from the arkworks backend, compared on both


def setup_module():
    global TEST_VECTOR_G0
    be = curve.set_backend("arkworks")
    TEST_VECTOR_G0 = be.to_bytes(pedersen.derive_vector_generator(0)).hex()


def _channels(label=b"t"):
    return ProverChannel(Transcript(label))


def test_sigma_protocols_accept_honest_and_reject_false_statements():
    rng = random.Random(2)
    be = curve.get_backend()
    x, rx, y, ry, rz = 6, 11, 7, 13, 17
    ch = _channels()
    sigma_prover.prove_product(ch, x, rx, y, ry, x * y, rz, "p", rng)
    sigma_prover.prove_zero(ch, 0, 99, "z", rng)
    data = ch.bytes()
    cx, cy = pedersen.commit_scalar(x, rx), pedersen.commit_scalar(y, ry)
    vc = VerifierChannel(Transcript(b"t"), data)
    sigma_verifier.verify_product(vc, cx, cy, pedersen.commit_scalar(42, rz), "p", "product")
    sigma_verifier.verify_zero(vc, be.mul(pedersen.h(), 99), "z", "zero")
    vc.finish()
    vc = VerifierChannel(Transcript(b"t"), data)
    with pytest.raises(VerificationError, match="product"):
        sigma_verifier.verify_product(vc, cx, cy, pedersen.commit_scalar(43, rz), "p", "product")


def _sumcheck_fixture(rng, n=5):
    a = np.array([rng.randrange(-50, 50) for _ in range(1 << n)], dtype=np.int64)
    b = np.array([rng.randrange(0, 50) for _ in range(1 << n)], dtype=np.int64)
    tau = [rng.randrange(P) for _ in range(n)]
    eqt = eq_table(tau)
    terms = [Term(3, ("eq",), (aff("A"), aff("B", const=5))), Term(1, (), (aff("A"),)), Term(7)]
    claim = (3 * sum(int(eqt[i]) * int(a[i]) * (int(b[i]) + 5) for i in range(1 << n))
             + int(a.sum()) + 7 * (1 << n)) % P
    return n, a, b, tau, eqt, terms, claim


@pytest.mark.parametrize("delta", [0, 1])
def test_zk_sumcheck_and_batched_opening(delta):
    rng = random.Random(3)
    n, a, b, tau, eqt, terms, claim = _sumcheck_fixture(rng)
    ca, ba = pedersen_prover.commit_tensor(a, n, rng)
    cb, bb = pedersen_prover.commit_tensor(b, n, rng)
    s = rng.randrange(P)
    ch = _channels()
    claimed = (claim + delta) % P
    point, ev = prove_sumcheck(ch, n, terms, {"A": a, "B": b}, {"eq": eqt}, claimed, s, "sc", rng)
    hyrax_prover.prove_batch_eval(ch, [(a, ba, *ev["A"], ca), (b, bb, *ev["B"], cb)], point, "ev", rng)
    vc = VerifierChannel(Transcript(b"t"), ch.bytes())
    run = lambda: (verify_sumcheck(vc, n, terms, lambda name, p: eq_eval(tau, p),
                                   pedersen.commit_scalar(claimed, s), "sc"))
    if delta:
        with pytest.raises(VerificationError, match="sc: "):
            run()
        return
    point2, evc = run()
    assert point2 == point
    hyrax_verifier.verify_batch_eval(vc, [(ca, evc["A"]), (cb, evc["B"])], point2, "ev", "opening")
    vc.finish()


def test_opening_rejects_a_wrong_evaluation():
    rng = random.Random(4)
    n = 6
    t = np.arange(1 << n, dtype=np.int64) - 20
    tc, blinds = pedersen_prover.commit_tensor(t, n, rng)
    point = [rng.randrange(P) for _ in range(n)]
    value = mle_eval(t.astype(object) % P, point)
    for claimed, ok in ((value, True), (value + 1, False)):
        ch = _channels()
        hyrax_prover.prove_batch_eval(ch, [(t, blinds, claimed, 5, tc)], point, "ev", rng)
        vc = VerifierChannel(Transcript(b"t"), ch.bytes())
        if ok:
            hyrax_verifier.verify_batch_eval(vc, [(tc, pedersen.commit_scalar(claimed, 5))], point, "ev", "opening")
        else:
            with pytest.raises(VerificationError, match="opening"):
                hyrax_verifier.verify_batch_eval(vc, [(tc, pedersen.commit_scalar(claimed, 5))], point, "ev", "opening")


def test_channel_rejects_truncation_and_trailing_bytes():
    ch = _channels()
    ch.send_scalar("s", 5)
    data = ch.bytes()
    with pytest.raises(FormatError, match="truncated"):
        VerifierChannel(Transcript(b"t"), data[:-1]).recv_scalar("s")
    vc = VerifierChannel(Transcript(b"t"), data + b"\x00")
    vc.recv_scalar("s")
    with pytest.raises(FormatError, match="unexpected bytes"):
        vc.finish()
    with pytest.raises(FormatError, match="non-canonical"):
        VerifierChannel(Transcript(b"t"), P.to_bytes(32, "big")).recv_scalar("s")


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_only_canonical_point_encodings_are_accepted(backend):
    """Junk bits in the identity's encoding would make proofs malleable and the two
    backends disagree; both must refuse them."""
    be = curve.set_backend(backend)
    try:
        identity = be.to_bytes(be.identity())
        assert be.eq(be.from_bytes(identity), be.identity())
        for junk in ("c0" + "00" * 46 + "01", "e0" + "00" * 47):
            with pytest.raises(ValueError):
                be.from_bytes(bytes.fromhex(junk))
    finally:
        curve.set_backend("arkworks")


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("delta", [0, 1])
def test_zk_sumcheck_with_k_committed_factors(k, delta):
    """A term eq * D_0 ... D_{k-1} (degree k + 1): the k values at the end are tied by k - 1
    committed partial products and proofs of product; a false claim is rejected."""
    rng = random.Random(4)
    n = 4
    tables = {f"D{j}": np.array([rng.randrange(0, 128) for _ in range(1 << n)], dtype=np.int64)
              for j in range(k)}
    tau = [rng.randrange(P) for _ in range(n)]
    eqt = eq_table(tau)
    terms = [Term(5, ("eq",), tuple(aff(name) for name in tables))]
    claim = 5 * sum(int(eqt[i]) * int(np.prod([int(t[i]) for t in tables.values()], dtype=object))
                    for i in range(1 << n)) % P
    claimed, s = (claim + delta) % P, rng.randrange(P)
    ch = _channels()
    point, ev = prove_sumcheck(ch, n, terms, tables, {"eq": eqt}, claimed, s, "sc", rng)
    assert all(ev[name][0] == mle_eval(t.astype(object), point) for name, t in tables.items())
    vc = VerifierChannel(Transcript(b"t"), ch.bytes())
    run = lambda: verify_sumcheck(vc, n, terms, lambda name, p: eq_eval(tau, p),
                                  pedersen.commit_scalar(claimed, s), "sc")
    if delta:
        with pytest.raises(VerificationError, match="sc: final evaluation"):
            run()
        return
    point2, evc = run()
    vc.finish()
    assert point2 == point and all(be_eq(evc[n_], pedersen.commit_scalar(*ev[n_])) for n_ in tables)
    # rounds: k + 1 coefficient commitments; end: k values, k - 1 (partial product, proof of product), zero proof
    points_per_product, scalars_per_product = 4, 5
    expected = n * (k + 1) * 48 + k * 48 + (k - 1) * (points_per_product * 48 + scalars_per_product * 32) + 48 + 32
    assert len(ch.bytes()) == expected


def be_eq(a, b) -> bool:
    return curve.get_backend().eq(a, b)
