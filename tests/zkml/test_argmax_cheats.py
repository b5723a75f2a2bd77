"""Cheating provers on the argmax relation (witness level, real prover, real Fiat–Shamir): an
honest witness, then one change to the correct bits, the beater or a label's logit, with the
margins G, H (and their limbs) recomputed from the changed values: the verifier rejects each."""
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
