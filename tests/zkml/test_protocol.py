"""End-to-end proofs on small models: completeness, the zero-knowledge simulator, hiding,
Fiat–Shamir binding of the statement, and byte-identical results on both curve backends."""
import hashlib
import random

import numpy as np
import pytest

from zkml.arith import curve
from zkml.formats.commitment import Commitment
from zkml.formats.opening import commit
from zkml.errors import VerificationError
from zkml.formats.model import DenseLayer, QuantizedModel, Requant
from zkml.formats.proof import Proof
from zkml.prover import prove_statement, simulate_statement
from zkml.statement import start_transcript, statement_digests
from zkml.verifier import verify_statement
from zkml_fixtures import tiny_data, tiny_model


@pytest.fixture(scope="module")
def small_case():
    model = tiny_model(d0=8, d1=6, classes=3, seed=1)
    x, y = tiny_data(model, n=13, wrong=4)
    rng = random.Random(9)
    com = commit(model, rng)
    proof = prove_statement(model, x, y, rng=rng)
    return model, com, x, y, proof


def test_proof_verifies_and_reveals_the_true_count(small_case):
    model, com, x, y, proof = small_case
    true_count = int(np.sum(np.argmax(model.forward_int(x), axis=1) == y))
    assert proof.claimed_count == true_count == 9
    assert verify_statement(com, x, y, proof) == true_count


def test_argmax_ties_follow_numpy_first_maximum():
    """A last layer with identical rows makes every sample a tie: only class 0 is correct."""
    model = tiny_model(d0=4, d1=3, classes=3, seed=2)
    last = model.layers[-1]
    last.weight[:] = last.weight[0]
    last.bias[:] = last.bias[0]
    x = np.random.default_rng(5).integers(-127, 128, (6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    com = commit(model, random.Random(1))
    proof = prove_statement(model, x, y, rng=random.Random(2))
    assert proof.claimed_count == 2
    assert verify_statement(com, x, y, proof) == 2


def test_simulator_makes_accepting_transcripts_without_the_weights(small_case):
    _model, com, x, y, proof = small_case
    # Any count at all, for a commitment whose opening the simulator never sees.
    for claimed in (0, 13, proof.claimed_count):
        sim, challenges = simulate_statement(com, x, y, claimed, rng=random.Random(claimed))
        assert len(sim.body) == len(proof.body)
        assert verify_statement(com, x, y, sim, programmed_challenges=challenges) == claimed
        # With honest Fiat–Shamir challenges the simulated proof is rejected.
        with pytest.raises(VerificationError):
            verify_statement(com, x, y, sim)


def test_commitments_are_hiding_and_unlinkable():
    model = tiny_model()
    a, b = commit(model), commit(model)
    assert a.architecture == b.architecture
    assert a.to_bytes() != b.to_bytes()
    assert not any(a.tensors[n].to_bytes() == b.tensors[n].to_bytes() for n in a.tensors)
    assert Commitment.from_bytes(a.to_bytes()).to_bytes() == a.to_bytes()


def test_every_statement_element_changes_the_first_challenge(small_case):
    model, com, x, y, proof = small_case
    base = statement_digests(com.architecture, com.tensor_bytes(), x, y)

    def first_challenge(digests, n=len(y), k=proof.claimed_count):
        return start_transcript(digests, n, k).challenge("lookup/alpha")

    reference = first_challenge(base)
    x2 = x.copy(); x2[0, 0] += 1
    y2 = y.copy(); y2[0] = (y2[0] + 1) % 3
    arch2 = dict(com.architecture, input_scale="0.2")
    variants = [
        statement_digests(arch2, com.tensor_bytes(), x, y),
        statement_digests(com.architecture, commit(model).tensor_bytes(), x, y),
        statement_digests(com.architecture, com.tensor_bytes(), x2, y),
        statement_digests(com.architecture, com.tensor_bytes(), x, y2),
        statement_digests(com.architecture, com.tensor_bytes(), x, y, context="proofboard/c/2"),
    ]
    assert all(first_challenge(v) != reference for v in variants)
    assert first_challenge(base, k=proof.claimed_count + 1) != reference
    assert first_challenge(base, n=len(y) + 1) != reference


def test_both_backends_give_identical_bytes():
    model = tiny_model()
    x, y = tiny_data(model)
    digests, files = {}, {}
    try:
        for backend in ("arkworks", "py_ecc"):
            curve.set_backend(backend)
            rng = random.Random(7)
            com = commit(model, rng)
            proof = prove_statement(model, x, y, rng=rng)
            files[backend] = (com.to_bytes(), proof.to_bytes())
            digests[backend] = hashlib.sha256(files[backend][0] + files[backend][1]).hexdigest()
    finally:
        curve.set_backend("arkworks")
    assert digests["arkworks"] == digests["py_ecc"]
    # (the bytes being equal, the arkworks verifier checks the pure-Python prover's proof)
    com_bytes, proof_bytes = files["py_ecc"]
    proof = Proof.from_bytes(proof_bytes)
    assert verify_statement(Commitment.from_bytes(com_bytes), x, y, proof) == proof.claimed_count


@pytest.mark.parametrize("change, message", [
    ({"input_scale": "0.0"}, "input_scale"),
    ({"input_scale": "nan"}, "input_scale"),
    ({"input_scale": "1e400"}, "input_scale"),
    ({"input_scale": 0.1}, "input_scale"),
    ({"parameter_count": 7}, "parameter_count"),
    ({"input_shape": [5]}, "input_shape"),
])
def test_commitment_architecture_is_validated(change, message):
    import json
    from zkml.errors import FormatError
    doc = json.loads(commit(tiny_model()).to_bytes())
    doc["architecture"].update(change)
    with pytest.raises(FormatError, match=message):
        Commitment.from_bytes(json.dumps(doc).encode())


def test_oversized_or_hostile_commitments_are_refused():
    import json
    from zkml.errors import FormatError
    doc = json.loads(commit(tiny_model()).to_bytes())
    doc["architecture"]["layers"][0]["out"] = doc["architecture"]["layers"][1]["in"] = 1 << 20
    with pytest.raises(FormatError, match="too large"):
        Commitment.from_bytes(json.dumps(doc).encode())
    with pytest.raises(FormatError, match="JSON"):
        Commitment.from_bytes(b"[" * 100000 + b"]" * 100000)


def test_mlp_proof_bytes_are_pinned():
    """A pinned test vector: the MLP proof (and commitment) bytes for fixed randomness, proof
    format 13 (one opening for the witness, rows up to 2^15). It changes only with the protocol; the files in
    tests/zkml/data/legacy keep the earlier formats verified (test_legacy_proofs.py)."""
    rng = np.random.default_rng(3)
    model = QuantizedModel((6,), 0.1, 3, [
        DenseLayer(rng.integers(-127, 128, (5, 6)), rng.integers(-500, 500, 5), Requant(300, 18)),
        DenseLayer(rng.integers(-127, 128, (3, 5)), rng.integers(-500, 500, 3), None)], [1.0, 1.0])
    x = rng.integers(-127, 128, (9, 6))
    y = np.argmax(model.forward_int(x), axis=1)
    r = random.Random(7)
    com = commit(model, r)
    proof = prove_statement(model, x, y, rng=r)
    assert hashlib.sha256(com.to_bytes() + proof.to_bytes()).hexdigest() == \
        "0fd69772c57fcaeba66acb7a4fab35880570eae25bd6b6847f89388189ca4da2"
