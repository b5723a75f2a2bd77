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
from zkml.arith.frvec import FrVec, PyFrVec
from zkml.protocols import logup_prover
from zkml.protocols.logup_prover import LeafVectors, LookupLeaves, prove_fraction_sum
from zkml.protocols.logup_verifier import verify_fraction_sum
from zkml.formats.model import DenseLayer, QuantizedModel, Requant
from zkml.formats.proof import Proof
from zkml.prover import _lookup_keys, _multiplicities, _run, argmax_witness, compute_witness
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
    point, (pv, pb), (qv, qb) = prove_fraction_sum(ch, LeafVectors(FrVec.from_ints(p), FrVec.from_ints(q)), "lk", rng)
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
    prove_fraction_sum(ch, LeafVectors(FrVec.from_ints(p), FrVec.from_ints(q)), "lk", rng)
    vc = VerifierChannel(Transcript(b"t"), ch.bytes())
    with pytest.raises(VerificationError, match="layer 0"):
        verify_fraction_sum(vc, 4, "lk")


def _fraction_sum_bytes(p, q, impl=FrVec, **memory) -> tuple[bytes, tuple]:
    ch = ProverChannel(Transcript(b"t"))
    out = prove_fraction_sum(ch, LeafVectors(impl.from_ints(p), impl.from_ints(q)), "lk", random.Random(5),
                             **memory)
    return ch.bytes(), out


@pytest.mark.parametrize("n_vars", [0, 1, 3, 6])
def test_fraction_sum_proof_does_not_depend_on_what_is_stored(n_vars, monkeypatch):
    """The layers kept in memory (virtual_depth) and the chunk of a pass change the prover's
    memory, never its messages: every setting, on both vector implementations, gives the bytes
    of the proof that stores the whole tree (virtual_depth 0)."""
    p, q = _fractions(n_vars, random.Random(40 + n_vars), balanced=True)
    reference = _fraction_sum_bytes(p, q, virtual_depth=0)
    for impl in (PyFrVec, FrVec):
        monkeypatch.setattr(logup_prover, "FrVec", impl)
        for depth, chunk in ((0, 1 << 20), (1, 1), (2, 4), (3, 2), (n_vars, 1), (n_vars + 3, 8), (2, 1 << 20)):
            assert _fraction_sum_bytes(p, q, impl, virtual_depth=depth, chunk=chunk) == reference, (impl, depth, chunk)


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


def test_a_lone_tensors_lookup_shares_the_witness_and_range_checks_have_no_aux(model_case):
    """The lookup stage is the prover's memory peak: a lookup of one committed tensor is a
    read-only view of it (no copy), a range check has no aux array (its table's aux is zero)."""
    model, _, x, y = model_case
    circuit = Circuit(model.architecture(), len(y))
    wit, _ = compute_witness(circuit, model, x, y)
    keys = _lookup_keys(circuit, wit)
    lone = [(grp.name, u, lk) for grp in circuit.groups for u, lk in enumerate(grp.lookups())
            if len(lk.value.parts) == 1 and lk.value.parts[0][1] == 1 and lk.value.const == 0]
    assert lone
    for group, u, lk in lone:
        val = keys[(group, u)][0]
        assert np.shares_memory(val, wit[lk.value.parts[0][0]]) and not val.flags.writeable
    for grp in circuit.groups:
        for u, lk in enumerate(grp.lookups()):
            assert (keys[(grp.name, u)][1] is None) == (lk.aux is None)


@pytest.mark.parametrize("tampered", [False, True])
def test_lookup_leaves_are_the_columns_fractions(model_case, tampered):
    """LookupLeaves against the leaves written out from their definition (circuit.Column):
    1 / (alpha - encoded lookup), -mult / (alpha - encoded table row), padding 0 / 1; any
    list of ranges gives those leaves, concatenated. Tampered: entries that are no table row
    (a value outside its table, an aux that is not the row's) get their own denominators."""
    model, _, x, y = model_case
    circuit = Circuit(model.architecture(), len(y))
    wit, _ = compute_witness(circuit, model, x, y)
    keys = _lookup_keys(circuit, wit)
    mult = _multiplicities(circuit, keys)
    if tampered:
        (val, aux, kind), (val2, aux2, kind2) = keys[("hidden1", 0)], keys[("hidden1", 1)]
        keys[("hidden1", 0)] = (val + np.arange(len(val)) % 2 * (1 << 20), aux, kind)
        keys[("hidden1", 1)] = (val2, (np.zeros_like(val2) if aux2 is None else aux2) + 1, kind2)
    alpha, beta = 123456789, 987654321
    n = 1 << circuit.leaf_vars
    p, q = [0] * n, [1] * n
    for col in circuit.columns:
        if col.group is None:
            rows = zip(mult, circuit.table_value, circuit.table_aux, circuit.table_kind)
            leaves = [(-int(m), int(v) + beta * int(a) + beta * beta * int(k)) for m, v, a, k in rows]
        else:
            val, aux, kind = keys[(col.group, col.lookup)]
            aux = np.zeros_like(val) if aux is None else aux       # a range check's aux is zero
            leaves = [(1, int(v) + beta * int(a) + beta * beta * kind) for v, a in zip(val, aux)]
        assert len(leaves) == 1 << col.n_vars
        for i, (pi, enc) in enumerate(leaves):
            p[col.offset + i], q[col.offset + i] = pi % P, (alpha - enc) % P
    assert circuit.leaf_count < n          # the layout has padding at the end
    source = LookupLeaves(circuit, keys, mult, alpha, beta)
    for ranges in ([(0, n)], [(5, 9), (0, 3), (n - 4, n), (7, 7)], [(circuit.leaf_count - 2, n - 1)]):
        got_p, got_q = source.ranges(ranges)
        assert list(got_p.to_ints()) == [p[i] for a, b in ranges for i in range(a, b)]
        assert list(got_q.to_ints()) == [q[i] for a, b in ranges for i in range(a, b)]


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
