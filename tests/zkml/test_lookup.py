"""The LogUp-GKR lookup argument: the fraction-sum proof on its own, and cheating provers
whose witness breaks a lookup (ReLU/clamp, range of a limb, multiplicities) while keeping
every linear relation true: the verifier must reject each with the lookup reason."""
import random

import numpy as np
import pytest

from zkml.commitments import pedersen
from zkml.protocols.channel_prover import ProverChannel
from zkml.protocols.channel_verifier import VerifierChannel
from zkml.circuit import Circuit
from zkml.formats.opening import commit, load_opening
from zkml.errors import VerificationError
from zkml.arith.field import P, inv, mle_eval
from zkml.arith.frvec import FrVec
from zkml.protocols.logup_prover import prove_fraction_sum
from zkml.protocols.logup_verifier import verify_fraction_sum
from zkml.formats.model import DenseLayer, QuantizedModel, Requant
from zkml.formats.proof import Proof
from zkml.prover import _run, argmax_witness, compute_witness
from zkml.statement import start_transcript, statement_digests
from zkml.protocols.transcript import Transcript
from zkml.verifier import verify_statement


def _fractions(n_vars: int, rng: random.Random, balanced: bool):
    """Random fractions p/q over 2^n_vars leaves; the last one balances the sum to zero."""
    n = 1 << n_vars
    q = [rng.randrange(1, P) for _ in range(n)]
    p = [rng.randrange(P) for _ in range(n)]
    rest = sum(pi * inv(qi) for pi, qi in zip(p[:-1], q[:-1])) % P
    p[-1] = (-rest * q[-1] + (0 if balanced else 1)) % P
    return np.array(p, dtype=object), np.array(q, dtype=object)


@pytest.mark.parametrize("n_vars", [1, 2, 5])
def test_fraction_sum_proof_ends_in_the_leaves_evaluations(n_vars):
    rng = random.Random(n_vars)
    p, q = _fractions(n_vars, rng, balanced=True)
    ch = ProverChannel(Transcript(b"t"))
    point, (pv, pb), (qv, qb) = prove_fraction_sum(ch, lambda: (FrVec.from_ints(p), FrVec.from_ints(q)), "lk", rng)
    assert pv == mle_eval(p, point) and qv == mle_eval(q, point)
    vc = VerifierChannel(Transcript(b"t"), ch.bytes())
    point2, pc, qc = verify_fraction_sum(vc, n_vars, "lk")
    vc.finish()
    assert point2 == point
    assert pc.value() == pedersen.commit_scalar(pv, pb) and qc.value() == pedersen.commit_scalar(qv, qb)


def test_fraction_sum_that_is_not_zero_is_rejected():
    rng = random.Random(7)
    p, q = _fractions(4, rng, balanced=False)
    ch = ProverChannel(Transcript(b"t"))
    prove_fraction_sum(ch, lambda: (FrVec.from_ints(p), FrVec.from_ints(q)), "lk", rng)
    vc = VerifierChannel(Transcript(b"t"), ch.bytes())
    with pytest.raises(VerificationError, match="layer 0"):
        verify_fraction_sum(vc, 4, "lk")


# -- cheating provers on a real model ------------------------------------------------------

@pytest.fixture(scope="module")
def model_case():
    rng = np.random.default_rng(3)
    model = QuantizedModel((6,), 0.1, 3, [
        DenseLayer(rng.integers(-127, 128, (5, 6)), rng.integers(-500, 500, 5), Requant(300, 18)),
        DenseLayer(rng.integers(-127, 128, (3, 5)), rng.integers(-500, 500, 3), None)], [1.0, 1.0])
    x = rng.integers(-127, 128, (9, 6))
    y = np.argmax(model.forward_int(x), axis=1)
    commitment = commit(model, random.Random(1))
    return model, commitment, x, y


def _forged_proof(model, x, y, tamper) -> Proof:
    """A prover that runs the real protocol on a witness changed by tamper(circuit, wit)."""
    arch = model.architecture()
    circuit = Circuit(arch, len(y))
    blinds, commitment_bytes = load_opening(model)
    wit, _ = compute_witness(circuit, model, x, y)
    count = tamper(circuit, wit, y)
    digests = statement_digests(arch, commitment_bytes, x, y, "")
    ch = ProverChannel(start_transcript(digests, len(y), count))
    body = _run(ch, circuit, wit, (count, 0), dict(blinds), {}, x, y, lambda *a: None, random.Random(2))
    return Proof(count, len(y), body, digests)


def _recompute_logits(circuit, wit, y) -> int:
    a1 = wit["A1"].reshape(1 << circuit.s_vars, -1)
    w2 = wit["W2"].reshape(1 << circuit.spec(2).out.n_vars, -1)
    wit["Z2"] = (a1 @ w2.T + wit["b2"]).ravel()
    return argmax_witness(circuit, wit, y)


def _entry_with_quotient_in(wit, lo, hi) -> int:
    return int(np.nonzero((wit["Q1"] >= lo) & (wit["Q1"] <= hi))[0][0])


def test_honest_witness_through_the_forging_path_verifies(model_case):
    model, commitment, x, y = model_case
    proof = _forged_proof(model, x, y, lambda circuit, wit, y: argmax_witness(circuit, wit, y))
    assert verify_statement(commitment, x, y, proof) == len(y)


def test_broken_relu_is_rejected_by_the_lookup(model_case):
    """A = clamp(Q) + 1 at one entry (the next layer computed from the changed A)."""
    model, commitment, x, y = model_case

    def tamper(circuit, wit, y):
        i = _entry_with_quotient_in(wit, 0, 100)
        wit["A1"] = wit["A1"].copy()
        wit["A1"][i] += 1
        return _recompute_logits(circuit, wit, y)

    with pytest.raises(VerificationError, match="lookup argument"):
        verify_statement(commitment, x, y, _forged_proof(model, x, y, tamper))


def test_remainder_outside_its_range_is_rejected_by_the_lookup(model_case):
    """Q + 1 with R - 2^k keeps m Z + 2^(k-1) = 2^k Q + R, but R's top limb goes negative."""
    model, commitment, x, y = model_case
    k = 18

    def tamper(circuit, wit, y):
        i = _entry_with_quotient_in(wit, 0, 100)
        for name in ("Q1", "A1"):
            wit[name] = wit[name].copy()
            wit[name][i] += 1
        count = _recompute_logits(circuit, wit, y)
        top = "R1.limb1"
        wit[top] = wit[top].copy()
        wit[top][i] -= 1 << (k - 15)
        return count

    with pytest.raises(VerificationError, match="lookup argument"):
        verify_statement(commitment, x, y, _forged_proof(model, x, y, tamper))


def test_wrong_multiplicities_are_rejected(model_case, monkeypatch):
    from zkml import prover
    model, commitment, x, y = model_case
    honest = prover._multiplicities

    def one_too_many(circuit, keys):
        mult = honest(circuit, keys).copy()
        mult[5] += 1
        return mult

    monkeypatch.setattr(prover, "_multiplicities", one_too_many)
    proof = _forged_proof(model, x, y, lambda circuit, wit, y: argmax_witness(circuit, wit, y))
    with pytest.raises(VerificationError, match="lookup argument"):
        verify_statement(commitment, x, y, proof)
