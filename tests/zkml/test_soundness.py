"""Attacks on real proofs: every one must be rejected with a clear reason, never a traceback."""
import os
import random
import re

import numpy as np
import pytest

import zkml
from zkml.formats.data import Dataset
from zkml.errors import FormatError, VerificationError
from zkml.formats.proof import Proof


@pytest.fixture(scope="module")
def case(digits, digits_qmodel):
    """A real digits model, committed, proved on 150 test samples."""
    _, _, x_test, y_test = digits
    model = digits_qmodel
    commitment = zkml.commit(model)
    data = Dataset(x_test[:150], y_test[:150])
    proof = zkml.prove(model, data)
    return model, commitment, data, proof


def _rejects(commitment, data, proof_bytes) -> str:
    """The verifier's reason for rejecting (fails the test if it accepts)."""
    try:
        proof = Proof.from_bytes(proof_bytes)
        count = zkml.verify(commitment, data, proof)
    except (VerificationError, FormatError) as exc:
        assert str(exc), "a rejection must carry a reason"
        return str(exc)
    raise AssertionError(f"tampered proof accepted (count {count})")


def test_honest_proof_verifies(case):
    model, commitment, data, proof = case
    expected = int(np.sum(model.predict(data.x) == data.y))
    assert zkml.verify(commitment, data, Proof.from_bytes(proof.to_bytes())) == expected
    assert proof.claimed_count == expected


def _proof_messages(commitment, data, proof, monkeypatch) -> list[tuple[int, int, str]]:
    """(offset in the body, length, label) of every message of the proof, in order: what the
    verifier's channel reads during one honest verification."""
    from zkml.protocols.channel import POINT_BYTES, SCALAR_BYTES
    from zkml.protocols.channel_verifier import VerifierChannel

    messages, offset = [], 0

    def recording(method, size):
        def recv(self, label):
            nonlocal offset
            messages.append((offset, size, label))
            offset += size
            return method(self, label)
        return recv
    with monkeypatch.context() as patch:
        patch.setattr(VerifierChannel, "recv_point", recording(VerifierChannel.recv_point, POINT_BYTES))
        patch.setattr(VerifierChannel, "recv_scalar", recording(VerifierChannel.recv_scalar, SCALAR_BYTES))
        zkml.verify(commitment, data, proof)
    assert offset == len(proof.body), "the recorded messages must tile the body"
    return messages


def _sections(messages) -> dict[str, list[tuple[int, int]]]:
    """The body's messages grouped by section (the label's first part, indices dropped) and
    kind (point or scalar): {section: [(offset, length), ...]}."""
    sections: dict[str, list[tuple[int, int]]] = {}
    for offset, length, label in messages:
        section = f"{re.sub(r'[0-9]+', '#', label.split('/')[0])} ({length}-byte messages)"
        sections.setdefault(section, []).append((offset, length))
    return sections


FIXED_PER_SECTION = 1      # positions per section from a fixed seed (the same every run)
RANDOM_PER_SECTION = 1     # and from a seed drawn per run, or $FLIP_SEED (printed when a flip is accepted)


def test_flipped_bytes_anywhere_are_rejected(case, monkeypatch):
    """Every header byte, and a stratified sample of the body: in every section of the message
    stream (sumcheck rounds, lookups, sigma proofs, openings, ...) and for each kind of message
    in it, bytes at fixed positions plus others drawn by a per-run seed."""
    _, commitment, data, proof = case
    raw = proof.to_bytes()
    header = len(raw) - len(proof.body)
    sections = _sections(_proof_messages(commitment, data, proof, monkeypatch))
    assert len(sections) >= 10, sorted(sections)
    run_seed = int(os.environ.get("FLIP_SEED") or random.SystemRandom().randrange(1 << 32))
    flips = [(pos, pos % 8, "header", "all") for pos in range(header)]   # (byte, bit, section, seed)
    for name, messages in sorted(sections.items()):
        for seed, count in (("fixed", FIXED_PER_SECTION), (run_seed, RANDOM_PER_SECTION)):
            rng = random.Random(f"{seed}/{name}")
            for offset, length in rng.sample(messages, min(count, len(messages))):
                flips.append((header + offset + rng.randrange(length), rng.randrange(8), name, seed))
    flips.append((len(raw) - 1, 0, "last byte", "fixed"))
    reasons = set()
    for pos, bit, name, seed in flips:
        tampered = bytearray(raw)
        tampered[pos] ^= 1 << bit
        try:
            reasons.add(_rejects(commitment, data, bytes(tampered)).split(":")[0])
        except AssertionError as exc:
            raise AssertionError(f"byte {pos} bit {bit} ({name}, seed {seed}; rerun this run's flips "
                                 f"with FLIP_SEED={run_seed}): {exc}") from None
    # malformed points, failed sumcheck rounds, failed sigma proofs, failed openings, ...
    assert len(reasons) >= 3, reasons


@pytest.mark.parametrize("delta", [1, -1])
def test_changed_claimed_count_is_rejected(case, delta):
    _, commitment, data, proof = case
    forged = Proof(proof.claimed_count + delta, proof.n_samples, proof.body, proof.statement)
    assert _rejects(commitment, data, forged.to_bytes())


def test_changed_label_input_or_dataset_is_rejected(case, digits):
    _, commitment, data, proof = case
    y = data.y.copy()
    y[7] = (y[7] + 1) % 10
    assert "labels" in _rejects(commitment, Dataset(data.x, y), proof.to_bytes())
    x = data.x.copy()
    x[3] = x[4]
    assert "test inputs" in _rejects(commitment, Dataset(x, data.y), proof.to_bytes())
    _, _, x_test, y_test = digits
    other = Dataset(x_test[150:300], y_test[150:300])
    assert "test inputs" in _rejects(commitment, other, proof.to_bytes())
    shorter = Dataset(data.x[:149], data.y[:149])
    assert "samples" in _rejects(commitment, shorter, proof.to_bytes())


def test_digests_cannot_be_patched_to_hide_a_statement_change(case):
    """Rewriting the header digests to the new statement only moves the failure into the
    transcript: the proof's messages were bound to the original statement."""
    from zkml.statement import statement_digests
    _, commitment, data, proof = case
    y = data.y.copy()
    y[0] = (y[0] + 1) % 10
    x_int = zkml.input_ints(commitment, data)
    patched = Proof(proof.claimed_count, proof.n_samples, proof.body,
                    statement_digests(commitment.architecture, commitment.tensor_bytes(), x_int, y))
    assert _rejects(commitment, Dataset(data.x, y), patched.to_bytes())


def test_another_models_commitment_is_rejected(case, digits_qmodel):
    import copy
    model, commitment, data, proof = case
    other = zkml.commit(copy.deepcopy(digits_qmodel))      # the same weights, committed again
    assert "commitment" in _rejects(other, data, proof.to_bytes())


@pytest.mark.parametrize("raw", [b"", b"ZKMPROOF", b"\x00" * 500, bytes(random.Random(5).randbytes(4000))])
def test_empty_random_and_short_files_are_rejected(case, raw):
    _, commitment, data, _ = case
    assert _rejects(commitment, data, raw)


def test_a_proof_of_another_format_version_is_rejected_by_name(case):
    _, commitment, data, proof = case
    raw = bytearray(proof.to_bytes())
    raw[8:10] = (1).to_bytes(2, "big")
    assert "unsupported proof version 1" in _rejects(commitment, data, bytes(raw))


def test_truncated_proofs_are_rejected(case):
    _, commitment, data, proof = case
    raw = proof.to_bytes()
    for cut in (10, 146, 147, len(raw) // 3, len(raw) - 1):
        assert _rejects(commitment, data, raw[:cut])
    assert "unexpected bytes" in _rejects(commitment, data, raw + b"\x00")


def test_two_class_sklearn_model_proves_onnxruntime_labels(digits):
    """The one-logit skl2onnx form becomes two logits [0, z]; the proven count matches
    what onnxruntime's label output scores on the same samples."""
    import zkml_fixtures
    from zkml.frontend.quantize import float_predict
    x_train, y_train, x_test, y_test = digits
    onnx_bytes = zkml_fixtures.digits_binary_mlp_onnx()
    yb = zkml_fixtures.digits_binary_labels(y_test[:100])
    model = zkml.quantize(onnx_bytes, x_train)
    commitment = zkml.commit(model)
    data = Dataset(x_test[:100], yb)
    proof = zkml.prove(model, data)
    count = zkml.verify(commitment, data, proof)
    assert count == int(np.sum(model.predict(data.x) == yb))
    float_count = int(np.sum(float_predict(onnx_bytes, data.x) == yb))
    assert abs(count - float_count) <= 2, (count, float_count)


def test_proof_is_bound_to_its_context(case, digits_qmodel):
    """A proof made for one platform entry does not verify under another (no replay)."""
    import copy
    _, _, data, _ = case
    model = copy.deepcopy(digits_qmodel)
    commitment = zkml.commit(model)
    small = Dataset(data.x[:20], data.y[:20])
    proof = zkml.prove(model, small, context="proofboard/digits/1")
    assert zkml.verify(commitment, small, proof, context="proofboard/digits/1") == proof.claimed_count
    assert "context" in _rejects_with_context(commitment, small, proof, "proofboard/digits/2")
    assert "context" in _rejects_with_context(commitment, small, proof, "")


def _rejects_with_context(commitment, data, proof, context) -> str:
    with pytest.raises(VerificationError) as info:
        zkml.verify(commitment, data, proof, context=context)
    return str(info.value)
