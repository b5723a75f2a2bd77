"""One opening for the witness (commitments/hyrax.py; docs/protocol.md §2, "One opening for the
witness"): claims on a proof's tensors of different sizes, at different points, reduced by one
sumcheck to zero-prefix embeddings at one point and opened by one dot-product argument. The
real prover and verifier halves, with Fiat–Shamir; a wrong value for any tensor, large or
small, and a swapped row commitment are rejected."""
from __future__ import annotations

import random

import numpy as np
import pytest

from zkml.arith.field import P, mle_eval
from zkml.commitments import hyrax, hyrax_prover, hyrax_verifier, pedersen, pedersen_prover
from zkml.errors import VerificationError
from zkml.protocols.channel_prover import ProverChannel
from zkml.protocols.channel_verifier import VerifierChannel
from zkml.protocols.group_checks import Combination
from zkml.protocols.reduction_prover import prove_witness_reduction
from zkml.protocols.sumcheck_verifier import verify_sumcheck
from zkml.protocols.transcript import Transcript

C = 4          # rows of 2^4 entries here (a proof's largest tensor sets c; small and fast)
SIZES = {"small": 2, "mid": C, "wide": C + 1, "widest": C + 2}   # one row; one row; 2 rows; 4 rows


def test_the_row_width_follows_the_largest_witness_tensor():
    """c = one more than that tensor's columns in the model's layout, at most 15 (and never
    more than its own variables): small proofs keep a small opening, large ones get rows of
    2^15. Format 11 (narrow=True) had the model's columns, at most 14, and its files are
    verified with that rule."""
    assert [pedersen.witness_columns(n) for n in (3, 10, 16, 21, 22, 23, 24, 30)] == [3, 8, 11, 14, 14, 15, 15, 15]
    assert [pedersen.witness_columns(n, narrow=True) for n in (3, 10, 16, 21, 22, 23, 30)] == \
        [3, 7, 10, 13, 13, 14, 14]
    assert pedersen.layout(22, 13) == (9, 13) and pedersen.layout(9, 13) == (0, 9)
    assert len(pedersen.vector_generators(1 << pedersen.WITNESS_COLUMN_VARS)) == 1 << 15


def _relabelled(proof, version: int):
    import dataclasses

    from zkml.formats.proof import read_proof
    return read_proof(dataclasses.replace(proof, version=version).to_bytes())


def test_a_proof_read_with_the_other_versions_rows_is_rejected():
    """The row width comes with the version: a version-11 file (rows of the model's layout) read
    as version 13 (rows one column variable wider), a new file read as 11, and the same for
    sharded files (4 and 9), are all rejected with a reason, never accepted."""
    from pathlib import Path

    from zkml.errors import FormatError
    from zkml.formats.commitment import Commitment
    from zkml.formats.proof import read_proof
    from zkml.prover import prove_sharded, prove_statement
    from zkml.verifier import verify_sharded, verify_statement
    from zkml_fixtures import tiny_data, tiny_model

    from zkml import commit

    legacy = Path(__file__).with_name("data") / "legacy"
    com = Commitment.from_bytes((legacy / "cnn_commitment.json").read_bytes())
    data = np.load(legacy / "cnn_data.npz")
    for name, new_version, verify in (("cnn_proof_v11.bin", 13, verify_statement),
                                      ("cnn_sharded_v4.bin", 9, verify_sharded)):
        proof = read_proof((legacy / name).read_bytes())
        assert verify(com, data["x"], data["y"], proof) == proof.claimed_count
        with pytest.raises((VerificationError, FormatError)):
            verify(com, data["x"], data["y"], _relabelled(proof, new_version))
    model = tiny_model()
    com = commit(model, random.Random(0))
    x, y = tiny_data(model)
    for proof, old_version, verify in ((prove_statement(model, x, y, rng=random.Random(1)), 11, verify_statement),
                                       (prove_sharded(model, x, y, 3, rng=random.Random(1)), 4, verify_sharded)):
        assert verify(com, x, y, proof) == proof.claimed_count
        with pytest.raises((VerificationError, FormatError)):
            verify(com, x, y, _relabelled(proof, old_version))


def _case(seed: int):
    """Tensors of four sizes committed in the witness layout; claims at five points (the widest
    tensor claimed at two)."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    wit = {name: nrng.integers(-(1 << 15), 1 << 15, 1 << n) for name, n in SIZES.items()}
    coms, blinds = {}, {}
    for name, n in SIZES.items():
        coms[name], blinds[name] = pedersen_prover.commit_tensor(wit[name], n, rng, C)
    claims = {}
    for name, n in list(SIZES.items()) + [("widest", SIZES["widest"])]:
        pt = tuple(rng.randrange(P) for _ in range(n))
        claims[(name, pt)] = (mle_eval(wit[name].astype(object) % P, list(pt)), rng.randrange(P))
    return rng, wit, coms, blinds, claims


def _prove(rng, wit, coms, blinds, claims) -> bytes:
    ch = ProverChannel(Transcript(b"witness-opening"))
    points = hyrax.claims_by_point(claims)
    pt, opened = prove_witness_reduction(ch, points, claims, wit, "reduce/witness", rng)
    items = [(wit[n], blinds[n], *opened[n], coms[n]) for n in sorted(opened)]
    hyrax_prover.prove_batch_eval(ch, items, pt, "open/witness", rng, C)
    return ch.bytes()


def _verify(body: bytes, coms, claims) -> None:
    """The verifier's half, exactly as verifier._verify_witness_opening runs it."""
    vc = VerifierChannel(Transcript(b"witness-opening"), body)
    claim_points = {key: pedersen.commit_scalar(*value) for key, value in claims.items()}
    points = hyrax.claims_by_point(claims)
    rho = vc.challenge("reduce/witness/rho")
    terms, coefs = hyrax.reduction_terms(points, rho)
    zs = [list(z) for z in points]
    pt, opened = verify_sumcheck(vc, hyrax.witness_point_vars(points), terms,
                                 lambda name, p: hyrax.embedded_eq(zs[int(name[2:])], p),
                                 Combination([claim_points[k] for k in coefs], list(coefs.values())),
                                 "reduce/witness")
    hyrax_verifier.verify_batch_eval(vc, [(coms[n], opened[n]) for n in sorted(opened)], pt, "open/witness",
                                     "witness opening", C)
    vc.finish()


def test_claims_at_every_size_are_opened_together():
    rng, wit, coms, blinds, claims = _case(1)
    assert [len(c.rows) for c in (coms[n] for n in SIZES)] == [1, 1, 2, 4]
    _verify(_prove(rng, wit, coms, blinds, claims), coms, claims)


@pytest.mark.parametrize("name", list(SIZES))
def test_a_wrong_value_for_any_tensor_is_rejected(name):
    """The prover runs honestly on a claim that is off by one (as a cheating layer step would
    leave it): the reduction or the opening fails, whichever size the tensor has."""
    rng, wit, coms, blinds, claims = _case(2)
    key = next(k for k in claims if k[0] == name)
    value, blind = claims[key]
    claims[key] = ((value + 1) % P, blind)
    body = _prove(rng, wit, coms, blinds, claims)
    with pytest.raises(VerificationError, match="witness opening|reduce/witness"):
        _verify(body, coms, claims)


def test_a_swapped_row_or_a_wrong_shape_is_rejected():
    rng, wit, coms, blinds, claims = _case(3)
    body = _prove(rng, wit, coms, blinds, claims)
    swapped = dict(coms)
    rows = list(coms["widest"].rows)
    rows[1], rows[2] = rows[2], rows[1]
    swapped["widest"] = pedersen.TensorCommitment(SIZES["widest"], rows, C)
    with pytest.raises(VerificationError, match="witness opening"):
        _verify(body, swapped, claims)
    model_layout = dict(coms)       # the same tensor in the model's layout is not a witness tensor
    model_layout["mid"] = pedersen.TensorCommitment(SIZES["mid"], coms["mid"].rows)
    with pytest.raises(VerificationError, match="does not match its evaluation point"):
        _verify(body, model_layout, claims)
