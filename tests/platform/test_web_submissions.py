"""Submissions: commitment validation, quotas, lateness, permissions, vault, leaderboard, bundle."""
import io
import json
import os
import stat
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from submissions import selectors, services
from submissions.models import Submission

pytestmark = pytest.mark.django_db


def submit(client, challenge, commitment: bytes, mode="self_hosted", model: bytes | None = None):
    data = {"commitment": SimpleUploadedFile("COMMIT.json", commitment), "proof_mode": mode, "label": "t"}
    if model is not None:
        data["model"] = SimpleUploadedFile("MODEL.zkm", model)
    return client.post(reverse("challenges:submit", args=[challenge.slug]), data)


def test_anonymous_cannot_upload(client, challenge, zk, token_for):
    response = submit(client, challenge, zk.commitment_bytes)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), zk.commitment_bytes,
                           content_type="application/json")
    assert response.status_code == 401
    assert not Submission.objects.exists()


def test_submit_commitment_web(client, users, challenge, zk):
    client.force_login(users.alice)
    page = client.get(reverse("challenges:submit", args=[challenge.slug]))
    assert b"5</strong> of 5 submissions left today" in page.content
    response = submit(client, challenge, zk.commitment_bytes)
    entry = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == entry.get_absolute_url()
    assert entry.state == "committed" and entry.participant == users.alice and entry.late is True  # revealed already
    assert bytes(entry.commitment) == zk.commitment_bytes and entry.architecture["layers"]
    assert b"4</strong> of 5" in client.get(reverse("challenges:submit", args=[challenge.slug])).content


@pytest.mark.parametrize("case", ["garbage", "json", "empty", "dims", "classes", "oversize"])
def test_bad_commitments_store_nothing(client, users, make_challenge, zk, case):
    challenge = make_challenge()
    commitment = zk.commitment_bytes
    expected = "Not a valid commitment file"
    if case == "garbage":
        commitment = b"\x00\xffnot json"
    elif case == "json":
        commitment = json.dumps({"hello": "world"}).encode()
    elif case == "empty":
        commitment, expected = b"", "empty"
    elif case == "dims":
        challenge = make_challenge("wide", input_shape=[8, 4], test_set_size=0)
        expected = "takes 64 inputs; this challenge"
    elif case == "classes":
        challenge = make_challenge("five", n_classes=12)
        expected = "outputs 10 classes; this challenge has 12"
    client.force_login(users.alice)
    with override_settings(MAX_COMMITMENT_BYTES=100 if case == "oversize" else settings.MAX_COMMITMENT_BYTES):
        response = submit(client, challenge, commitment)
    if case == "oversize":
        expected = "larger than 100 bytes"
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert not Submission.objects.exists()
    assert not os.listdir(settings.VAULT_DIR)


def test_daily_quota_and_failures_do_not_count(client, users, make_challenge, zk):
    challenge = make_challenge(max_submissions_per_day=2)
    client.force_login(users.alice)
    submit(client, challenge, zk.commitment_bytes)
    submit(client, challenge, zk.commitment_bytes)
    response = submit(client, challenge, zk.commitment_bytes)
    assert "used all 2 submissions" in response.content.decode()
    assert Submission.objects.count() == 2
    first = Submission.objects.order_by("pk").first()
    Submission.objects.filter(pk=first.pk).update(state="failed", failed_stage="proving")  # her own prover
    assert services.remaining_today(users.alice, challenge) == 0
    Submission.objects.filter(pk=first.pk).update(state="failed", failed_stage="verifying")  # the platform's
    assert services.remaining_today(users.alice, challenge) == 1
    assert submit(client, challenge, zk.commitment_bytes).status_code == 302


def test_late_flag(users, make_challenge, zk):
    before = make_challenge("before", revealed=False)
    after = make_challenge("after")
    assert services.create_submission(users.alice, before, zk.commitment_bytes).late is False
    assert services.create_submission(users.alice, after, zk.commitment_bytes).late is True


def test_closed_challenge_rejects(users, make_challenge, zk):
    from django.core.exceptions import ValidationError

    closed = make_challenge("closed", proving_deadline=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ValidationError, match="not accepting"):
        services.create_submission(users.alice, closed, zk.commitment_bytes)


def test_participant_cannot_touch_anothers_submission(client, users, challenge, zk, zk_proof, token_for):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    client.force_login(users.bob)
    assert client.get(entry.get_absolute_url()).status_code == 404
    assert client.get(reverse("submissions:status", args=[entry.pk])).status_code == 404
    response = client.post(reverse("submissions:upload_proof", args=[entry.pk]),
                           {"proof": SimpleUploadedFile("p.bin", zk_proof.proof_bytes)})
    assert response.status_code == 404
    bob = {"HTTP_AUTHORIZATION": f"Token {token_for(users.bob)}"}
    assert client.get(reverse("api:submission", args=[entry.pk]), **bob).status_code == 404
    response = client.post(reverse("api:upload_proof", args=[entry.pk]), zk_proof.proof_bytes,
                           content_type="application/octet-stream", **bob)
    assert response.status_code == 404
    assert client.post(reverse("api:progress", args=[entry.pk]), {"stage": "x", "percent": 5},
                       content_type="application/json", **bob).status_code == 404
    entry.refresh_from_db()
    assert entry.state == "committed" and entry.proof is None
    client.force_login(users.alice)
    assert client.get(entry.get_absolute_url()).status_code == 200


def test_proof_web_upload_validation(client, users, challenge, zk):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    client.force_login(users.alice)
    response = client.post(reverse("submissions:upload_proof", args=[entry.pk]),
                           {"proof": SimpleUploadedFile("p.bin", b"garbage")}, follow=True)
    assert "Not a valid proof file" in response.content.decode()
    entry.refresh_from_db()
    assert entry.state == "committed" and entry.proof is None


def test_proof_before_reveal_refused(users, make_challenge, zk, zk_proof):
    from django.core.exceptions import ValidationError

    hidden = make_challenge("hidden", revealed=False)
    entry = services.create_submission(users.alice, hidden, zk.commitment_bytes)
    with pytest.raises(ValidationError, match="not revealed"):
        services.upload_proof(users.alice, entry, zk_proof.proof_bytes)


def test_hosted_model_goes_to_the_vault_never_served(client, users, challenge, zk, private_dirs):
    client.force_login(users.alice)
    response = submit(client, challenge, zk.commitment_bytes, mode="hosted", model=zk.model_bytes)
    assert response.status_code == 302
    entry = Submission.objects.get()
    path = settings.VAULT_DIR / entry.vault_path
    assert path.read_bytes() == zk.model_bytes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    vault = os.path.realpath(settings.VAULT_DIR)
    for public in (settings.MEDIA_ROOT, settings.STATIC_ROOT, *settings.STATICFILES_DIRS):
        assert not vault.startswith(os.path.realpath(public) + os.sep)
    name = entry.vault_path
    for url in (f"/media/{name}", f"/static/{name}", f"/vault/{name}", f"/var/vault/{name}",
                f"/static/../vault/{name}", f"/submissions/{entry.pk}/model", f"/api/vault/{name}",
                f"/challenges/{challenge.slug}/{name}"):
        for who in (client, ):
            response = who.get(url)
            assert response.status_code == 404, url
            assert zk.model_bytes not in getattr(response, "content", b"")
    # the page shows the entry but never the model
    page = client.get(entry.get_absolute_url())
    assert name.encode() not in page.content
    client.force_login(users.bob)
    assert client.get(entry.get_absolute_url()).status_code == 404


def test_hosted_needs_a_valid_model(client, users, challenge, zk, other_commitment):
    client.force_login(users.alice)
    assert "needs your MODEL.zkm" in submit(client, challenge, zk.commitment_bytes, mode="hosted").content.decode()
    response = submit(client, challenge, zk.commitment_bytes, mode="hosted", model=b"junk")
    assert "Not a valid MODEL.zkm" in response.content.decode()
    response = submit(client, challenge, other_commitment, mode="hosted", model=zk.model_bytes)
    assert "belongs to a different commitment" in response.content.decode()
    assert not Submission.objects.exists() and not os.listdir(settings.VAULT_DIR)


def _verified(challenge, user, correct, minutes_ago, **extra):
    return Submission.objects.create(
        challenge=challenge, participant=user, commitment=b"{}", proof=b"p" * 10, proof_size=10,
        state="verified", correct_count=correct, total_count=200, verified_at=timezone.now(),
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        architecture={"layers": [{"in": 64, "out": 16}, {"in": 16, "out": 10}], "parameter_count": 1210},
        parameter_count=1210, verification_record={"correct_count": correct}, **extra)


def test_leaderboard_ranking_sections_and_json(client, users, challenge):
    a = _verified(challenge, users.alice, 180, 30)
    b = _verified(challenge, users.bob, 180, 40)  # same count, committed earlier → ranks first
    c = _verified(challenge, users.host, 150, 50, is_baseline=True, proof_mode="hosted")
    late = _verified(challenge, users.bob, 199, 5, late=True)
    dq = _verified(challenge, users.alice, 200, 60)
    Submission.objects.create(challenge=challenge, participant=users.alice, state="proof_received")  # unverified
    services.disqualify(users.host, dq, "trained on the test set")
    board = selectors.leaderboard(challenge)
    assert [e.pk for e in board.main] == [b.pk, a.pk, c.pk]
    assert [e.pk for e in board.late] == [late.pk] and [e.pk for e in board.disqualified] == [dq.pk]
    page = client.get(challenge.get_absolute_url()).content.decode()
    assert "90.00%" in page and "75.00%" in page and "Late entries" in page and "baseline" in page
    assert "trained on the test set" in page and "64→16→10" in page and "<svg" in page
    data = client.get(reverse("api:leaderboard", args=[challenge.slug])).json()
    assert [r["submission"] for r in data["ranking"]] == [b.pk, a.pk, c.pk]
    assert data["ranking"][0]["rank"] == 1 and data["ranking"][0]["accuracy"] == 90.0
    assert data["ranking"][2]["baseline"] is True and data["ranking"][2]["proof_mode"] == "hosted"
    assert data["late"][0]["late"] is True
    assert data["disqualified"][0]["disqualified_reason"] == "trained on the test set"


def test_only_staff_can_disqualify(client, users, challenge):
    entry = _verified(challenge, users.bob, 100, 1)
    client.force_login(users.alice)
    response = client.post(reverse("submissions:disqualify", args=[entry.pk]), {"reason": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.disqualify(users.alice, entry, "x")
    entry.refresh_from_db()
    assert not entry.disqualified
    client.force_login(users.host)
    client.post(reverse("submissions:disqualify", args=[entry.pk]), {"reason": "duplicate account"})
    entry.refresh_from_db()
    assert entry.disqualified and entry.disqualified_reason == "duplicate account"


def test_admin_disqualify_action_asks_for_reason(client, users, challenge):
    entry = _verified(challenge, users.bob, 100, 1)
    client.force_login(users.host)
    url = "/admin/submissions/submission/"
    response = client.post(url, {"action": "disqualify_selected", "_selected_action": [entry.pk]})
    assert response.status_code == 200 and b"reason" in response.content
    client.post(url, {"action": "disqualify_selected", "_selected_action": [entry.pk], "apply": "1",
                      "reason": "shared weights"})
    entry.refresh_from_db()
    assert entry.disqualified and entry.disqualified_reason == "shared weights"


def test_public_bundle(client, users, challenge):
    entry = _verified(challenge, users.alice, 180, 1)
    response = client.get(reverse("submissions:bundle", args=[entry.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        names = set(zf.namelist())
        assert names == {"commitment.json", "proof.bin", "dataset-sha256.txt", "verification.json", "README.txt"}
        assert challenge.test_set_sha256 in zf.read("dataset-sha256.txt").decode()
        assert "zkml verify --commitment commitment.json --dataset digits-test.npz --proof proof.bin" in \
            zf.read("README.txt").decode()
        assert "digits-test.npz" in zf.read("dataset-sha256.txt").decode()
        for info in zf.infolist():  # unzips readable by everyone (was 0600)
            assert (info.external_attr >> 16) & 0o777 == 0o644, info.filename
        assert json.loads(zf.read("verification.json"))["correct_count"] == 180
    pending = Submission.objects.create(challenge=challenge, participant=users.alice, state="committed")
    assert client.get(reverse("submissions:bundle", args=[pending.pk])).status_code == 404


def test_status_json_and_staff_failures_page(client, users, challenge):
    failed = Submission.objects.create(challenge=challenge, participant=users.alice, state="failed",
                                       failed_stage="verifying", reason="verifying error: boom")
    client.force_login(users.alice)
    data = client.get(reverse("submissions:status", args=[failed.pk])).json()
    assert data["state"] == "failed" and data["reason"] == "verifying error: boom" and data["final"]
    assert client.get(reverse("submissions:failures")).status_code == 302  # not staff
    client.force_login(users.host)
    page = client.get(reverse("submissions:failures"))
    assert page.status_code == 200 and b"verifying error: boom" in page.content
