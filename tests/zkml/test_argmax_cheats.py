"""Cheating provers on the argmax relation (witness level, real prover, real Fiat–Shamir): an
honest witness, then one change to the correct bits, the beater or a label's logit, with the
margins G, H (and their limbs) recomputed from the changed values: the verifier rejects each;
the same for a shard of a sharded proof, and a shard's hidden count above its correct bits."""
import random

import numpy as np
import pytest

from zkml.circuit import Circuit
from zkml.constants import LIMB_BITS
from zkml.errors import VerificationError
from zkml.formats.opening import commit, load_opening
from zkml.formats.model import DenseLayer, QuantizedModel, Requant
from zkml.formats.proof import Proof
from zkml.protocols.channel_prover import ProverChannel
from zkml.prover import _run, compute_witness
from zkml.statement import start_transcript, statement_digests
from zkml.verifier import verify_statement


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(5)
    model = QuantizedModel((6,), 0.1, 3, [
        DenseLayer(rng.integers(-127, 128, (5, 6)), rng.integers(-500, 500, 5), Requant(300, 18)),
        DenseLayer(rng.integers(-127, 128, (3, 5)), rng.integers(-500, 500, 3), None)], [1.0, 1.0])
    x = rng.integers(-127, 128, (12, 6))
    y = np.argmax(model.forward_int(x), axis=1)
    y[::3] = (y[::3] + 1) % 3                       # every third sample misclassified
    return model, commit(model, random.Random(1)), x, y


def _margins(circuit: Circuit, wit: dict, labels: np.ndarray) -> None:
    """G, H and their limbs from wit's logits, c, lab, zeta and B (no range checks: a cheat's
    values may leave the ranges; its limbs then cannot recombine)."""
    npad, d = 1 << circuit.s_vars, 1 << circuit.class_vars
    z = wit[f"Z{circuit.n_layers}"].reshape(npad, d)
    y = np.zeros(npad, dtype=np.int64)
    y[:circuit.n_samples] = labels
    c, lab, zeta, lam = wit["c"], wit["lab"], wit["zeta"], circuit.big_m
    lt = (np.arange(d)[None, :] < y[:, None]).astype(np.int64)
    pad_class = (np.arange(d) >= circuit.n_classes).astype(np.int64)
    wit["G"] = (lab[:, None] - z - lt + lam * (1 - c)[:, None] + lam * pad_class[None, :]).ravel()
    wit["H"] = zeta - lab - 1 + lam * c + lam * (1 - circuit.sample_valid())
    for name in ("G", "H"):
        rc = next(r for g in circuit.groups for r in g.ranges if r.tensor == name)
        for j, (limb, width) in enumerate(rc.limbs()):
            wit[limb] = (wit[name] >> (LIMB_BITS * j)) & ((1 << width) - 1)


def _forged(case, tamper) -> Proof:
    model, _, x, y = case
    arch = model.architecture()
    circuit = Circuit(arch, len(y))
    blinds, commitment_bytes = load_opening(model)
    wit, _ = compute_witness(circuit, model, x, y)
    tamper(circuit, wit)
    _margins(circuit, wit, y)
    count = int(wit["c"].sum())
    digests = statement_digests(arch, commitment_bytes, x, y, "")
    ch = ProverChannel(start_transcript(digests, len(y), count))
    body = _run(ch, circuit, wit, (count, 0), dict(blinds), {}, x, y, lambda *a: None, random.Random(2))
    return Proof(count, len(y), body, digests)


def _wrong_sample(wit) -> int:
    return int(np.nonzero(wit["c"][:12] == 0)[0][0])


def test_the_honest_witness_through_this_path_verifies(case):
    _, com, x, y = case
    proof = _forged(case, lambda circuit, wit: None)
    assert verify_statement(com, x, y, proof) == proof.claimed_count == 8


def test_a_misclassified_sample_claimed_correct_is_rejected(case):
    _, com, x, y = case

    def claim_one_more(circuit, wit):
        wit["c"] = wit["c"].copy()
        wit["c"][_wrong_sample(wit)] = 1
    # the beaten label's margin G goes negative: its limbs cannot recombine to it
    with pytest.raises(VerificationError, match="logits: the committed values violate relation"):
        verify_statement(com, x, y, _forged(case, claim_one_more))


def test_a_beater_with_two_classes_is_rejected(case):
    _, com, x, y = case

    def two_beaters(circuit, wit):
        d = 1 << circuit.class_vars
        i = _wrong_sample(wit)
        wit["B"] = wit["B"].copy()
        row = wit["B"][i * d:(i + 1) * d]
        row[np.nonzero(row == 0)[0][0]] = 1          # a second class marked as the beater
    with pytest.raises(VerificationError, match="argmax"):
        verify_statement(com, x, y, _forged(case, two_beaters))


def test_a_label_logit_off_by_one_is_rejected(case):
    _, com, x, y = case

    def label_logit_plus_one(circuit, wit):
        wit["lab"] = wit["lab"].copy()
        wit["lab"][0] += 1
    with pytest.raises(VerificationError, match="argmax"):
        verify_statement(com, x, y, _forged(case, label_logit_plus_one))


def _forged_sharded(case, tamper, raise_count: int = 0):
    """A sharded proof (two shards of 6) made by the real prover with real Fiat–Shamir; shard 2's
    witness goes through `tamper`, and its count commitment commits to its (cheated) count of
    correct bits plus `raise_count`."""
    from zkml.arith.curve import get_backend
    from zkml.commitments import pedersen
    from zkml.formats.proof import ShardedProof, ShardPart
    from zkml.statement import Shard

    model, _, x, y = case
    arch = model.architecture()
    blinds, commitment_bytes = load_opening(model)
    digests = statement_digests(arch, commitment_bytes, x, y, "")
    rng = random.Random(3)
    parts, total, blind_sum = [], 0, 0
    for i, (start, stop) in enumerate([(0, 6), (6, 12)]):
        circuit = Circuit(arch, stop - start)
        wit, _ = compute_witness(circuit, model, x[start:stop], y[start:stop])
        if i == 1:
            tamper(circuit, wit)
            _margins(circuit, wit, y[start:stop])
        count = (int(wit["c"].sum()) + (raise_count if i == 1 else 0), rng.randrange(1, 1 << 60))
        point = get_backend().to_bytes(pedersen.commit_scalar(*count))
        ch = ProverChannel(start_transcript(digests, len(y), None, Shard(i, 2, start, stop), point))
        body = _run(ch, circuit, wit, count, dict(blinds), {}, x[start:stop], y[start:stop], lambda *a: None, rng)
        parts.append(ShardPart(start, stop, point, body))
        total, blind_sum = total + count[0], blind_sum + count[1]
    return ShardedProof(total, len(y), blind_sum, digests, parts)


def test_sharded_witness_cheats_are_rejected_in_their_shard(case):
    """Shards (docs/protocol.md §6a) at the witness level: the honest path verifies; a shard whose
    witness claims a misclassified sample correct, or whose hidden count is one more than its
    correct bits (the total raised with it, so the commitments' sum still opens), is rejected by
    that shard's own checks."""
    from zkml.verifier import verify_sharded

    _, com, x, y = case
    honest = _forged_sharded(case, lambda circuit, wit: None)
    assert verify_sharded(com, x, y, honest) == 8

    def claim_one_more(circuit, wit):
        wit["c"] = wit["c"].copy()
        wit["c"][_wrong_sample(wit)] = 1
    with pytest.raises(VerificationError, match=r"shard 2 of 2 \(samples 6..11\): logits: the committed values"):
        verify_sharded(com, x, y, _forged_sharded(case, claim_one_more))
    with pytest.raises(VerificationError, match=r"shard 2 of 2 \(samples 6..11\): group/samples: final evaluation"):
        verify_sharded(com, x, y, _forged_sharded(case, lambda circuit, wit: None, raise_count=1))
