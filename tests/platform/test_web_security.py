"""Security review fixes: proof replay, upload limits, parameter count, platform faults, locks, redirects."""
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from submissions import services
from submissions.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_verified(users, challenge, zk, prove_for):
    """Alice's self-hosted entry, proved for its own context and verified."""
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    services.upload_proof(users.alice, entry, prove_for(entry))
    assert services.run_verification(entry.pk) == "verified"
    entry.refresh_from_db()
    return entry


def _bundle(client, entry) -> dict:
    response = client.get(reverse("submissions:bundle", args=[entry.pk]))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_replayed_commitment_of_another_participant_is_rejected(client, users, challenge, alice_verified, token_for):
    """Mallory downloads Alice's public bundle and re-uses her commitment: refused at upload."""
    bundle = _bundle(client, alice_verified)
    context = f"proofboard/{challenge.slug}/{alice_verified.pk}"
    assert json.loads(bundle["verification.json"])["context"] == context
    assert f"--proof proof.bin --context {context}" in bundle["README.txt"].decode()
    mallory = users.bob
    client.force_login(mallory)
    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", bundle["commitment.json"]), "proof_mode": "self_hosted"})
    assert response.status_code == 200
    assert "this commitment is already used by another participant" in response.content.decode()
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), bundle["commitment.json"],
                           content_type="application/json", HTTP_AUTHORIZATION=f"Token {token_for(mallory)}")
    assert response.status_code == 400
    assert response.json()["error"] == "this commitment is already used by another participant"
    assert not Submission.objects.filter(participant=mallory).exists()
    # the owner may re-use her own commitment (e.g. on another entry)
    assert services.create_submission(users.alice, challenge, bytes(bundle["commitment.json"])).pk


def test_proof_for_one_entry_is_refused_under_another(client, users, make_challenge, challenge, alice_verified):
    """Same user, same commitment, another challenge: the proof of entry A is refused at upload for
    entry B (a 400 naming entry A and the fix); entry B stays open for its own proof."""
    from django.core.exceptions import ValidationError

    bundle = _bundle(client, alice_verified)
    other = make_challenge("digits-2")
    entry_b = services.create_submission(users.alice, other, bundle["commitment.json"])
    with pytest.raises(ValidationError) as info:
        services.upload_proof(users.alice, entry_b, bundle["proof.bin"])
    message = " ".join(info.value.messages)
    assert f"made for entry #{alice_verified.pk} (--context proofboard/{challenge.slug}/{alice_verified.pk})" in message
    assert f"--context proofboard/digits-2/{entry_b.pk}" in message
    entry_b.refresh_from_db()
    assert entry_b.state == "committed" and entry_b.proof is None
    # and on the same challenge too
    entry_c = services.create_submission(users.alice, challenge, bundle["commitment.json"])
    with pytest.raises(ValidationError, match=f"made for entry #{alice_verified.pk}"):
        services.upload_proof(users.alice, entry_c, bundle["proof.bin"])
    entry_c.refresh_from_db()
    assert entry_c.state == "committed"
    assert alice_verified.verification_record["verifier"].startswith("zkml proofboard-zkml-mlp-proof-v")
    page = client.get(alice_verified.get_absolute_url()).content.decode()
    assert f"--context proofboard/{challenge.slug}/{alice_verified.pk}" in page


def test_oversized_uploads_are_refused_before_reading(client, users, challenge, zk, token_for, settings):
    """Declared sizes are checked before the bytes are read; nothing is stored; a clear message."""
    import os

    client.force_login(users.alice)
    settings.MAX_MODEL_BYTES = 100
    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", zk.commitment_bytes), "proof_mode": "hosted",
        "model": SimpleUploadedFile("MODEL.zkm", zk.model_bytes)})
    assert response.status_code == 200 and "The model file is larger than 100 bytes." in response.content.decode()
    assert not Submission.objects.exists() and not os.listdir(settings.VAULT_DIR)
    # API: the raw body is refused from its Content-Length
    settings.MAX_COMMITMENT_BYTES = 100
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), zk.commitment_bytes,
                           content_type="application/json", **auth)
    assert response.status_code == 400 and response.json()["error"] == "The commitment file is larger than 100 bytes."
    assert not Submission.objects.exists()
    settings.MAX_COMMITMENT_BYTES = 1 << 20
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    settings.MAX_PROOF_BYTES = 10
    response = client.post(reverse("api:upload_proof", args=[entry.pk]), b"x" * 11,
                           content_type="application/octet-stream", **auth)
    assert response.status_code == 400 and "proof file is larger than 10 bytes" in response.json()["error"]
    response = client.post(reverse("submissions:upload_proof", args=[entry.pk]),
                           {"proof": SimpleUploadedFile("PROOF.bin", b"x" * 11)}, follow=True)
    assert "The proof file is larger than 10 bytes." in response.content.decode()
    entry.refresh_from_db()
    assert entry.state == "committed" and entry.proof is None


def test_request_size_middleware_answers_413(client, users, challenge, zk, token_for, settings):
    settings.MAX_REQUEST_BYTES = 1000
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), b"x" * 1001,
                           content_type="application/json", **auth)
    assert response.status_code == 413 and "limited to 1000 bytes" in response.json()["error"]
    client.force_login(users.alice)
    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", b"x" * 2000), "proof_mode": "self_hosted"})
    assert response.status_code == 413 and response["Content-Type"].startswith("text/html")
    assert "Upload too large" in response.content.decode()
    assert not Submission.objects.exists()


def test_upload_temp_dir_is_private():
    import os
    import stat

    from django.conf import settings as django_settings

    path = django_settings.FILE_UPLOAD_TEMP_DIR
    assert os.path.isdir(path) and stat.S_IMODE(os.stat(path).st_mode) == 0o700


@pytest.mark.parametrize("claimed", ["abc", -5, 1e23, None])
def test_parameter_count_is_computed_not_taken_from_the_commitment(client, users, challenge, zk, token_for, claimed):
    doc = json.loads(zk.commitment_bytes)
    layers = doc["architecture"]["layers"]
    expected = sum(layer["in"] * layer["out"] + layer["out"] for layer in layers)
    assert services.parameter_count({**doc["architecture"], "parameter_count": claimed}) == expected
    if claimed is None:
        doc["architecture"].pop("parameter_count", None)
    else:
        doc["architecture"]["parameter_count"] = claimed
    data = json.dumps(doc).encode()
    client.force_login(users.alice)
    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", data), "proof_mode": "self_hosted"})
    assert response.status_code in (200, 302)  # never a 500
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), data,
                           content_type="application/json", HTTP_AUTHORIZATION=f"Token {token_for(users.alice)}")
    assert response.status_code in (201, 400)
    for entry in Submission.objects.all():  # accepted (the field is ignored) or cleanly refused by zkml
        assert entry.parameter_count == expected
        Submission.objects.filter(pk=entry.pk).update(state="verified", correct_count=150, total_count=200)
    if claimed is None:
        assert Submission.objects.count() == 2
    if Submission.objects.exists():
        board = client.get(challenge.get_absolute_url()).content.decode()
        assert f'<td class="num">{expected}</td>' in board
        ranking = client.get(f"/api/challenges/{challenge.slug}/leaderboard").json()
        assert {r["parameter_count"] for r in ranking["ranking"] + ranking["late"]} == {expected}


def test_platform_side_faults_are_failed_not_rejected(users, challenge, zk, zk2):
    """A lost vault file or a broken test set of the challenge is the platform's fault: failed, retryable,
    not counted towards the participant's daily limit."""
    import os

    from django.conf import settings as django_settings

    lost = services.create_submission(users.bob, challenge, zk2.commitment_bytes, proof_mode="hosted",
                                      model_bytes=zk2.model_bytes)
    os.remove(django_settings.VAULT_DIR / lost.vault_path)
    assert services.run_hosted_proving(lost.pk) == "failed"
    lost.refresh_from_db()
    assert (lost.state, lost.failed_stage) == ("failed", "proving") and "no longer in the vault" in lost.reason

    hosted = services.create_submission(users.bob, challenge, zk2.commitment_bytes, proof_mode="hosted",
                                        model_bytes=zk2.model_bytes)
    pending = Submission.objects.create(challenge=challenge, participant=users.alice, state="proof_received",
                                        commitment=zk.commitment_bytes, proof=b"not even a proof", proof_size=16)
    test_set = challenge.test_set.path
    original = open(test_set, "rb").read()
    try:
        with open(test_set, "wb") as fh:
            fh.write(b"PK\x03\x04 this is not an npz")  # the challenge's own file is broken (FormatError)
        assert services.run_hosted_proving(hosted.pk) == "failed"
        assert services.run_verification(pending.pk) == "failed"
    finally:
        with open(test_set, "wb") as fh:
            fh.write(original)
    hosted.refresh_from_db()
    pending.refresh_from_db()
    assert (hosted.state, hosted.failed_stage) == ("failed", "proving")
    assert (django_settings.VAULT_DIR / hosted.vault_path).exists()  # kept for the re-run
    assert (pending.state, pending.failed_stage) == ("failed", "verifying")
    assert services.used_today(users.bob, challenge) == 0  # platform failures do not count
    assert services.retry(pending) and services.run_verification(pending.pk) == "rejected"  # now the proof's fault
    services.delete_vault_file(hosted.vault_path)


def test_retry_next_is_not_an_open_redirect(client, users, challenge):
    entry = Submission.objects.create(challenge=challenge, participant=users.alice, state="failed",
                                      failed_stage="verifying", reason="boom")
    client.force_login(users.host)
    url = reverse("submissions:retry", args=[entry.pk])
    for evil in ("https://evil.example/phish", "//evil.example/", "javascript:alert(1)", "\\\\evil.example"):
        Submission.objects.filter(pk=entry.pk).update(state="failed", failed_stage="verifying")
        response = client.post(url, {"next": evil})
        assert response.status_code == 302 and response["Location"] == entry.get_absolute_url(), evil
    Submission.objects.filter(pk=entry.pk).update(state="failed", failed_stage="verifying")
    response = client.post(url, {"next": reverse("submissions:failures")})
    assert response["Location"] == reverse("submissions:failures")


def test_nul_bytes_are_a_clean_400(client, users, challenge, zk, token_for):
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    url = reverse("api:create_submission", args=[challenge.slug])
    response = client.post(url, {"commitment": SimpleUploadedFile("COMMIT.json", zk.commitment_bytes),
                                 "label": "bad\x00label"}, **auth)
    assert response.status_code == 400 and "NUL" in response.json()["error"]
    doc = json.loads(zk.commitment_bytes)
    doc["architecture"]["note\x00"] = "x\x00y"
    response = client.post(url, json.dumps(doc).encode(), content_type="application/json", **auth)
    assert response.status_code == 400, response.content
    assert not Submission.objects.exists()
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    response = client.post(reverse("api:progress", args=[entry.pk]), {"stage": "sum\x00check", "percent": 5},
                           content_type="application/json", **auth)
    assert response.status_code == 400 and "NUL" in response.json()["error"]
    entry.refresh_from_db()
    assert entry.state == "committed"


def test_form_errors_once_and_reported_prove_times(client, users, challenge, zk):
    client.force_login(users.alice)
    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", b"{}"), "proof_mode": "self_hosted"})
    assert response.content.decode().count("Not a valid commitment file") == 1
    client.force_login(users.host)
    response = client.post(reverse("challenges:baseline", args=[challenge.slug]), {
        "onnx": SimpleUploadedFile("m.onnx", b"junk"), "label": "b"})
    assert response.content.decode().count("Not a valid ONNX model") == 1
    for user, mode in ((users.alice, "self_hosted"), (users.bob, "hosted")):
        Submission.objects.create(challenge=challenge, participant=user, proof_mode=mode, state="verified",
                                  correct_count=100, total_count=200, prove_seconds=12.0, commitment=b"{}",
                                  architecture={"layers": [{"in": 64, "out": 10}]})
    board = client.get(challenge.get_absolute_url()).content.decode()
    assert board.count("12.0 s <span class=\"muted\">(reported)</span>") == 1


def test_default_secret_key_refused_outside_demo_and_tests():
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "DEBUG", "PROOFBOARD_ALLOW_INSECURE_KEY", "PYTEST_VERSION")}
    check = [sys.executable, "manage.py", "check"]
    out = subprocess.run(check, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "ImproperlyConfigured: SECRET_KEY is not set" in out.stderr
    for extra in ({"SECRET_KEY": "a-real-secret-" * 4}, {"PROOFBOARD_ALLOW_INSECURE_KEY": "1"}, {"DEBUG": "1"}):
        out = subprocess.run(check, cwd=repo, env={**env, **extra}, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, (extra, out.stderr)
