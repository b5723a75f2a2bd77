"""The verifier's group equations, checked in one batch (protocols/group_checks.py,
docs/protocol.md §5 "Batch verification and the cofactor"): a false equation is caught and
named, the first failing check is the reason given (as if every check ran when recorded), and
points outside the prime-order subgroup are judged by their subgroup component only, the same
way on both curve backends."""
import copy
import dataclasses
import random

import pytest

import zkml
from zkml.arith import curve
from zkml.arith.field import P
from zkml.commitments import pedersen
from zkml.errors import FormatError, VerificationError
from zkml.formats.data import Dataset
from zkml.protocols import channel_prover
from zkml.protocols.group_checks import H1, Combination, GroupChecks, in_torsion, times

N = 40


def _torsion_point():
    """A non-zero point of E(F_p) of order dividing the cofactor: [r] Q for a curve point Q."""
    be = curve.get_backend()
    for x in range(4, 100):
        try:
            q = be.from_bytes(bytes([0x80]) + bytes(46) + bytes([x]))
        except ValueError:
            continue
        t = times(q, P)
        if not be.is_identity(t):
            return t
    raise AssertionError("no torsion point found")


@pytest.fixture(params=["arkworks", "py_ecc"])
def backend(request):
    be = curve.set_backend(request.param)
    yield be
    curve.set_backend("arkworks")


def test_torsion_points_decode_and_count_as_zero_in_checks(backend):
    t = _torsion_point()
    assert backend.eq(backend.from_bytes(backend.to_bytes(t)), t)
    assert in_torsion(t) and not backend.is_identity(t)
    assert backend.is_identity(times(t, H1))
    g = pedersen.g()
    assert not in_torsion(g) and not in_torsion(backend.add(g, t))
    checks = GroupChecks()
    checks.require_zero([(backend.add(g, t), 1), (g, P - 1)], "g + T - g")     # holds in the subgroup
    with pytest.raises(VerificationError, match="g \\+ T - 2g"):
        checks.require_zero([(backend.add(g, t), 1), (g, P - 2)], "g + T - 2g")


@pytest.mark.parametrize("first", [0x80, 0xA0])
def test_x_zero_without_infinity_flag_is_refused_on_both_backends(backend, first):
    with pytest.raises(ValueError, match="invalid G1 point encoding"):
        backend.from_bytes(bytes([first]) + bytes(47))    # (0, +-2), of order 3


def test_batch_names_the_first_false_equation():
    be = curve.set_backend("arkworks")
    g, h = pedersen.g(), pedersen.h()
    checks = GroupChecks(batch=True)
    three_g_five_h = be.add(pedersen.g_times(3), pedersen.h_times(5))
    checks.require_zero([(g, 3), (h, 5), (three_g_five_h, P - 1)], "true one")
    checks.require_zero([(g, 1), (h, P - 1)], "first false")
    checks.require_zero([(Combination([g, h], [2, 2]), 1), (g, P - 2)], "second false")
    checks.require_zero([(Combination([three_g_five_h], [1]), 1), (g, P - 3), (h, P - 5)], "true again")
    with pytest.raises(VerificationError, match="first false$"):
        checks.verify()


def test_false_equations_that_cancel_each_other_are_still_caught():
    """Each equation has its own random weight: E1 = g - h and E2 = h - g sum to O, but their
    weighted sum does not (with equal weights a prover could hide one error behind another)."""
    curve.set_backend("arkworks")
    g, h = pedersen.g(), pedersen.h()
    for _ in range(5):
        checks = GroupChecks(batch=True)
        checks.require_zero([(g, 1), (h, P - 1)], "g - h")
        checks.require_zero([(h, 1), (g, P - 1)], "h - g")
        with pytest.raises(VerificationError, match="g - h$"):
            checks.verify()


def test_batch_with_vector_generators_accepts_and_rejects():
    import numpy as np
    gens = pedersen.vector_generators(8)
    scal = np.array([random.randrange(P) for _ in range(8)], dtype=object)
    target = curve.get_backend().msm(gens, list(scal))
    ok = GroupChecks(batch=True)
    ok.require_zero([(target, P - 1)], "gens", generator_scalars=scal)
    ok.require_zero([(target, 1)], "gens again", generator_scalars=(P - scal) % P)
    ok.verify()
    bad = GroupChecks(batch=True)
    scal2 = scal.copy()
    scal2[3] = (scal2[3] + 1) % P
    bad.require_zero([(target, P - 1)], "one generator off", generator_scalars=scal2)
    with pytest.raises(VerificationError, match="one generator off"):
        bad.verify()


# -- on real proofs -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def case(digits, digits_qmodel):
    curve.set_backend("arkworks")
    _, _, x_test, y_test = digits
    data = Dataset(x_test[:N], y_test[:N])
    model = copy.deepcopy(digits_qmodel)      # committing sets an opening: keep the shared fixture as it is
    commitment = zkml.commit(model)
    return model, commitment, data


def _prove_logging(model, data, monkeypatch, **kw):
    """A proof and the body offsets of its scalars {label: offset}."""
    offsets = {}
    send_scalar = channel_prover.ProverChannel.send_scalar

    def logging_send_scalar(self, label, value):
        offsets.setdefault(label, len(self._out))
        return send_scalar(self, label, value)
    monkeypatch.setattr(channel_prover.ProverChannel, "send_scalar", logging_send_scalar)
    proof = zkml.prove(model, data, rng=random.Random(3), **kw)
    monkeypatch.setattr(channel_prover.ProverChannel, "send_scalar", send_scalar)
    return proof, offsets


def _reason(commitment, data, proof) -> str:
    try:
        count = zkml.verify(commitment, data, proof)
    except (VerificationError, FormatError) as exc:
        return str(exc)
    raise AssertionError(f"tampered proof accepted (count {count})")


def test_first_failing_check_is_the_reason(case, monkeypatch):
    """A wrong response in the first zero-check's final sigma proof makes every later check
    fail too (the transcript changes); the reason is still that first check."""
    model, commitment, data = case
    proof, offsets = _prove_logging(model, data, monkeypatch)
    assert zkml.verify(commitment, data, proof) == proof.claimed_count
    label = next(lab for lab in offsets if lab.startswith("group/") and lab.endswith("/final/z"))
    pos = offsets[label]
    body = bytearray(proof.body)
    body[pos + 31] ^= 1
    reason = _reason(commitment, data, dataclasses.replace(proof, body=bytes(body)))
    group = label[len("group/"):-len("/final/z")]
    assert f"group/{group}: final evaluation does not match the sumcheck claim" in reason


def test_earlier_failing_check_wins_over_a_later_format_error(case, monkeypatch):
    model, commitment, data = case
    proof, offsets = _prove_logging(model, data, monkeypatch)
    label = next(lab for lab in offsets if lab.startswith("group/") and lab.endswith("/final/z"))
    body = bytearray(proof.body)
    body[offsets[label] + 31] ^= 1
    truncated = bytes(body[:len(body) - 100])
    reason = _reason(commitment, data, dataclasses.replace(proof, body=truncated))
    assert "final evaluation does not match the sumcheck claim" in reason and "truncated" not in reason


def test_earlier_shard_failure_wins_over_a_later_shards_error(case, monkeypatch):
    model, commitment, data = case
    proof, offsets = _prove_logging(model, data, monkeypatch, shard_size=16)
    assert zkml.verify(commitment, data, proof) == proof.claimed_count
    label = next(lab for lab in offsets if lab.startswith("group/") and lab.endswith("/final/z"))
    # offsets are logged from the first shard's channel (setdefault keeps the first)
    first = proof.shards[0]
    body = bytearray(first.body)
    body[offsets[label] + 31] ^= 1
    shards = [dataclasses.replace(first, body=bytes(body))] + proof.shards[1:-1] + \
        [dataclasses.replace(proof.shards[-1], body=proof.shards[-1].body[:-10])]
    reason = _reason(commitment, data, dataclasses.replace(proof, shards=shards))
    assert "shard 1 of 3 (samples 0..15): group/" in reason and "final evaluation does not match" in reason


def test_torsion_added_to_a_finished_proof_is_rejected(case):
    model, commitment, data = case
    be = curve.get_backend()
    proof = zkml.prove(model, data, rng=random.Random(4))
    t = _torsion_point()
    first = be.from_bytes(proof.body[:48])                    # the first witness row commitment
    body = be.to_bytes(be.add(first, t)) + proof.body[48:]
    with pytest.raises(VerificationError) as err:       # a check fails and is named
        zkml.verify(commitment, data, dataclasses.replace(proof, body=body))
    assert "does not match" in str(err.value) or "failed" in str(err.value) or "violate" in str(err.value)


def test_prover_sending_torsion_makes_no_difference_to_the_verdict(case, monkeypatch):
    """A prover that adds a torsion point to a commitment before it enters the transcript
    changes nothing the verifier looks at (docs/protocol.md §5): the proof is the honest one's
    projection, accepted, and every verification reaches the same verdict."""
    model, commitment, data = case
    be = curve.get_backend()
    t = _torsion_point()
    send_point = channel_prover.ProverChannel.send_point
    state = {"done": False}

    def send_with_torsion(self, label, point):
        if not state["done"] and label.startswith("witness/"):
            state["done"] = True
            point = be.add(point, t)
        return send_point(self, label, point)
    monkeypatch.setattr(channel_prover.ProverChannel, "send_point", send_with_torsion)
    proof = zkml.prove(model, data, rng=random.Random(6))
    monkeypatch.setattr(channel_prover.ProverChannel, "send_point", send_point)
    assert state["done"]
    assert not in_torsion(be.from_bytes(proof.body[:48])) and \
        not be.eq(times(be.from_bytes(proof.body[:48]), P), be.identity())   # really off the subgroup
    for _ in range(3):
        assert zkml.verify(commitment, data, proof) == proof.claimed_count


@pytest.mark.parametrize("shard_size", [None, 16])
def test_torsion_on_every_point_the_prover_sends_is_accepted(case, monkeypatch, shard_size):
    """Every message point (those the verifier also multiplies and adds directly included)
    carries torsion, whole proof and shards: the verdict is the honest proof's."""
    model, commitment, data = case
    be = curve.get_backend()
    t = _torsion_point()
    send_point = channel_prover.ProverChannel.send_point
    monkeypatch.setattr(channel_prover.ProverChannel, "send_point",
                        lambda self, label, point: send_point(self, label, be.add(point, t)))
    proof = zkml.prove(model, data, rng=random.Random(8), shard_size=shard_size)
    monkeypatch.setattr(channel_prover.ProverChannel, "send_point", send_point)
    assert zkml.verify(commitment, data, proof) == proof.claimed_count


def test_shards_checked_in_two_processes_report_the_first_failure(case, monkeypatch):
    """Five shards: two halves verified in forked processes (arith.parallel.fork_map). Honest:
    the count; a bad shard in each half: the first half's is named; only in the second half:
    that one is named, with its place."""
    model, commitment, data = case
    monkeypatch.setenv("ZKML_THREADS", "2")
    proof, offsets = _prove_logging(model, data, monkeypatch, shard_size=8)
    assert len(proof.shards) == 5
    assert zkml.verify(commitment, data, proof) == proof.claimed_count
    label = next(lab for lab in offsets if lab.startswith("group/") and lab.endswith("/final/z"))

    def spoiled(i):
        body = bytearray(proof.shards[i].body)
        body[offsets[label] + 31] ^= 1
        return dataclasses.replace(proof.shards[i], body=bytes(body))
    both = list(proof.shards)
    both[1], both[4] = spoiled(1), spoiled(4)
    reason = _reason(commitment, data, dataclasses.replace(proof, shards=both))
    assert "shard 2 of 5 (samples 8..15): group/" in reason and "final evaluation does not match" in reason
    late = list(proof.shards)
    late[3] = spoiled(3)
    reason = _reason(commitment, data, dataclasses.replace(proof, shards=late))
    assert "shard 4 of 5 (samples 24..31): group/" in reason
