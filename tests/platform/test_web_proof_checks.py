"""A mistake never destroys an entry (issue 9, item 3): a proof for another statement, a damaged
file or a file of the wrong kind is a 400 naming the fix, and the entry stays open; only a
well-formed proof for the right entry that fails verification is `rejected`; a fault of the
verifier is `failed` (retryable, not counted against the daily limit)."""
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from submissions import services
from submissions.models import Submission

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def entry(users, challenge, zk):
    return services.create_submission(users.alice, challenge, zk.commitment_bytes)


@pytest.fixture
def auth(users, token_for):
    return {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}


def _upload(client, entry, data, auth):
    return client.post(reverse("api:upload_proof", args=[entry.pk]), data,
                       content_type="application/octet-stream", **auth)


def _assert_still_open(entry):
    entry.refresh_from_db()
    assert entry.state == "committed" and entry.proof is None and entry.reason == ""


def _fix(entry) -> str:
    return f"--context proofboard/{entry.challenge.slug}/{entry.pk}`"


def test_proof_made_without_context_names_the_fix(client, entry, zk_proof, auth):
    response = _upload(client, entry, zk_proof.proof_bytes, auth)
    assert response.status_code == 400
    message = response.json()["error"]
    assert "made without --context" in message and _fix(entry) in message
    assert "zkml prove MODEL.zkm --dataset digits-test.npz --out PROOF.bin" in message
    _assert_still_open(entry)


def test_proof_for_another_commitment_names_the_fix(client, users, challenge, other_commitment, prove_for, auth):
    """`zk`'s model proved for an entry that committed another commitment (committed again)."""
    entry = services.create_submission(users.alice, challenge, other_commitment)
    response = _upload(client, entry, prove_for(entry), auth)
    assert response.status_code == 400
    message = response.json()["error"]
    assert "another commitment than this entry's" in message and _fix(entry) in message
    assert "context" not in message.split(".")[0]          # the context was right
    _assert_still_open(entry)


def test_proof_on_another_dataset_names_the_sample_count(client, entry, zk, zk_proof, auth):
    import zkml

    model = zkml.QuantizedModel.load(str(zk.model_path))
    full = zkml.load_dataset(str(zk_proof.dataset_path))
    part = zkml.Dataset(full.x[:40], full.y[:40])
    proof = zkml.prove(model, part, context=entry.proof_context).to_bytes()
    response = _upload(client, entry, proof, auth)
    assert response.status_code == 400
    assert "it is for 40 samples, the test set of “digits” has 200" in response.json()["error"]
    # the same size, other labels
    y = full.y.copy()
    y[:5] = (y[:5] + 1) % 10
    proof = zkml.prove(model, zkml.Dataset(full.x, y), context=entry.proof_context).to_bytes()
    response = _upload(client, entry, proof, auth)
    assert response.status_code == 400 and "other test labels than the test set" in response.json()["error"]
    _assert_still_open(entry)


def test_truncated_extended_and_old_format_proofs_are_400(client, entry, prove_for, auth):
    from zkml.formats.proof import _HEADER

    good = prove_for(entry)
    for data, message in [
        (good[:-1], "proof is truncated: its body has"),
        (good[:len(good) // 2], "proof is truncated: its body has"),
        (good[:_HEADER.size - 5], "proof is truncated"),
        (good + b"\x00", "1 unexpected bytes after the proof's end"),
        (good[:8] + (2).to_bytes(2, "big") + good[10:], "This proof file has format version 2, made by an older zkml"),
        (good[:8] + (3).to_bytes(2, "big") + good[10:], "unsupported proof version 3"),
    ]:
        response = _upload(client, entry, data, auth)
        assert response.status_code == 400, message
        assert message in response.json()["error"]
        _assert_still_open(entry)
    assert _upload(client, entry, good, auth).status_code == 202


def test_flipped_bit_in_the_body_is_a_real_rejection(client, entry, prove_for, auth):
    """Well-formed, for the right entry, fails verification: the only way to `rejected`."""
    from zkml.formats.proof import _HEADER

    data = bytearray(prove_for(entry))
    data[_HEADER.size + (len(data) - _HEADER.size) // 2] ^= 0x04
    assert _upload(client, entry, bytes(data), auth).status_code == 202
    assert services.run_verification(entry.pk) == "rejected"
    entry.refresh_from_db()
    assert entry.state == "rejected" and entry.reason.startswith(("proof rejected", "malformed file"))
    assert services.retry(entry) is False          # final


def test_verifier_fault_is_failed_retryable_and_not_counted(entry, users, challenge, prove_for, monkeypatch):
    """A TypeError inside the verifier is the platform's fault, not the participant's."""
    import zkml.api

    services.upload_proof(users.alice, entry, prove_for(entry))
    remaining = services.remaining_today(users.alice, challenge)

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand type(s)")

    monkeypatch.setattr(zkml.api, "verify_statement", broken)
    assert services.run_verification(entry.pk) == "failed"
    entry.refresh_from_db()
    assert entry.state == "failed" and entry.failed_stage == "verifying" and "TypeError" in entry.reason
    assert services.remaining_today(users.alice, challenge) == remaining + 1
    monkeypatch.undo()
    assert services.retry(entry) is True
    assert services.run_verification(entry.pk) == "verified"


@pytest.mark.parametrize("field", ["json_body", "multipart", "web"])
def test_model_file_uploaded_as_the_commitment_says_what_it_is(client, users, challenge, zk, auth, field):
    if field == "json_body":
        response = client.post(reverse("api:create_submission", args=[challenge.slug]), zk.model_bytes,
                               content_type="application/json", **auth)
        text = response.json()["error"]
    elif field == "multipart":
        response = client.post(reverse("api:create_submission", args=[challenge.slug]),
                               {"commitment": SimpleUploadedFile("MODEL.zkm", zk.model_bytes)}, **auth)
        text = response.json()["error"]
    else:
        client.force_login(users.alice)
        response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
            "commitment": SimpleUploadedFile("MODEL.zkm", zk.model_bytes), "proof_mode": "self_hosted"})
        text = response.content.decode()
        assert response.status_code == 200
    assert field == "web" or response.status_code == 400
    assert "This file is a private model file (MODEL.zkm" in text
    assert "zkml commit MODEL.zkm --out COMMIT.json" in text and "Keep MODEL.zkm private" in text
    assert not Submission.objects.exists()


def test_other_wrong_kinds_of_file_are_named(client, users, challenge, zk, zk_proof, entry, auth):
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), zk_proof.proof_bytes,
                           content_type="application/json", **auth)
    assert response.status_code == 400 and "This file is a proof file (PROOF.bin" in response.json()["error"]
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), b"\x89PNG\r\n\x1a\n\x00",
                           content_type="application/json", **auth)
    assert response.status_code == 400
    assert response.json()["error"].startswith("Not a valid commitment file: commitment is not valid JSON")
    assert "Upload the public COMMIT.json made by `zkml commit MODEL.zkm --out COMMIT.json`" \
        in response.json()["error"]
    response = _upload(client, entry, zk.commitment_bytes, auth)
    assert response.status_code == 400
    assert "This file is a commitment file (COMMIT.json" in response.json()["error"]
    response = _upload(client, entry, zk.model_bytes, auth)
    assert response.status_code == 400 and "private model file" in response.json()["error"]
    client.force_login(users.alice)
    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", zk.commitment_bytes), "proof_mode": "hosted",
        "model": SimpleUploadedFile("MODEL.zkm", zk.commitment_bytes)})
    assert "This file is a commitment file (COMMIT.json" in response.content.decode()
    assert Submission.objects.count() == 1
    _assert_still_open(entry)


def test_hosted_model_of_another_commitment_is_named(users, challenge, zk, zk2):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="belongs to a different commitment"):
        services.create_submission(users.alice, challenge, zk.commitment_bytes, proof_mode="hosted",
                                   model_bytes=zk2.model_bytes)
    assert not Submission.objects.exists()


@pytest.fixture(scope="module")
def onnx_32_inputs() -> bytes:
    """A small MLP that takes 32 inputs (the digits challenge has 64)."""
    import warnings

    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    x = rng.random((60, 32), dtype=np.float32)
    y = np.arange(60) % 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(x, y)
    return to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}}).SerializeToString()


def test_baseline_input_shape_is_checked_at_upload(client, users, challenge, onnx_bytes, onnx_32_inputs):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=r"takes inputs of shape 32 \(32 values\); this challenge's samples "
                                              r"have shape 64 \(64 values\)"):
        services.create_baseline(users.host, challenge, onnx_32_inputs)
    client.force_login(users.host)
    response = client.post(reverse("challenges:baseline", args=[challenge.slug]), {
        "onnx": SimpleUploadedFile("m.onnx", onnx_32_inputs), "label": "baseline"})
    assert response.status_code == 200 and "takes inputs of shape 32" in response.content.decode()
    assert not Submission.objects.exists()
    assert services.create_baseline(users.host, challenge, onnx_bytes).pk


def test_commitment_endpoint_serves_the_owner_only(client, users, entry, zk, token_for, auth):
    response = client.get(reverse("api:submission_commitment", args=[entry.pk]), **auth)
    assert response.status_code == 200 and response.content == zk.commitment_bytes
    bob = {"HTTP_AUTHORIZATION": f"Token {token_for(users.bob)}"}
    assert client.get(reverse("api:submission_commitment", args=[entry.pk]), **bob).status_code == 404
    assert client.get(reverse("api:submission_commitment", args=[entry.pk])).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_prover_worker_run_refuses_another_model_and_uploads_nothing(live_server, users, challenge, zk, zk2,
                                                                      token_for):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    out = subprocess.run([sys.executable, "-m", "prover_worker", "run", "--platform", live_server.url,
                          "--token", token_for(users.alice), "--model", str(zk2.model_path),
                          "--submission", str(entry.pk)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"is not the model of submission {entry.pk}" in out.stdout
    assert "belongs to a different commitment" in out.stdout and "nothing was proved or uploaded" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    entry.refresh_from_db()
    assert entry.state == "committed" and entry.proof is None and entry.progress_percent == 0


def test_sharded_proof_is_checked_verified_and_ranked(client, entry, zk, zk_proof, auth):
    """A proof made in shards (`zkml prove --shard-size`) goes through the same upload checks and
    verification as a whole one, with the same count; one made for another entry is a 400."""
    import zkml

    model = zkml.QuantizedModel.load(str(zk.model_path))
    dataset = zkml.load_dataset(str(zk_proof.dataset_path))
    wrong = zkml.prove(model, dataset, shard_size=64, context="proofboard/elsewhere/1").to_bytes()
    response = _upload(client, entry, wrong, auth)
    assert response.status_code == 400 and _fix(entry) in response.json()["error"]
    _assert_still_open(entry)
    sharded = zkml.prove(model, dataset, shard_size=64, context=entry.proof_context)
    assert len(sharded.shards) > 1
    assert _upload(client, entry, sharded.to_bytes(), auth).status_code == 202
    assert services.run_verification(entry.pk) == "verified"
    entry.refresh_from_db()
    assert entry.state == "verified" and entry.correct_count == zk_proof.claimed_count
