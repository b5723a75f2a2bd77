"""Issue 10, item 2: the DRF API's errors (every one JSON with a stable `code`, a human `detail`
and `error` = detail), token authentication, throttling and pagination."""
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from accounts.models import ApiToken
from accounts.services import hash_token, revoke_token
from api import errors as api_errors
from submissions import errors, selectors, services
from submissions.models import Submission

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    """The response is a JSON error with this status and code, and detail == error (non-empty)."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert body["code"] == code, body
    assert body["detail"] and body["error"] == body["detail"], body
    assert "Traceback" not in body["detail"]
    return body


@pytest.fixture
def auth(users, token_for):
    return {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}


@pytest.mark.parametrize("cls", [*errors.DOMAIN_ERRORS, ValidationError, PermissionDenied, selectors.PageNotFound])
def test_the_handler_answers_each_domain_exception_with_its_status_and_code(cls):
    view_context = {"request": APIRequestFactory().get("/api/x"), "view": None}
    response = api_errors.api_exception_handler(cls("What went wrong."), view_context)
    status, code = api_errors.answer_for(cls("x"))
    assert response.status_code == status
    assert response.data == {"code": code, "detail": "What went wrong.", "error": "What went wrong."}


def test_an_unexpected_exception_is_left_to_djangos_json_500():
    assert api_errors.api_exception_handler(KeyError("bug"), {"request": None, "view": None}) is None


def test_domain_errors_through_the_api(client, users, challenge, zk, auth, prove_for, settings, token_for):
    url = reverse("api:create_submission", args=[challenge.slug])
    body = assert_error(client.post(url, b"{}", content_type="application/json", **auth), 400, "bad_upload")
    assert "Not a valid commitment" in body["detail"] and body["remaining_today"] == 5
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    bob = {"HTTP_AUTHORIZATION": f"Token {token_for(users.bob)}"}
    body = assert_error(client.post(url, zk.commitment_bytes, content_type="application/json", **bob),
                        400, "commitment_in_use")
    assert body["remaining_today"] == 5
    proof_url = reverse("api:upload_proof", args=[entry.pk])
    assert_error(client.post(proof_url, zk.commitment_bytes, content_type="application/octet-stream", **auth),
                 400, "upload_mismatch")
    assert_error(client.post(proof_url, b"\x01", content_type="application/octet-stream", **bob), 404, "not_found")
    settings.MAX_PROOF_BYTES = 10
    body = assert_error(client.post(proof_url, b"x" * 11, content_type="application/octet-stream", **auth),
                        400, "bad_upload")
    assert body["detail"] == "The proof file is larger than 10 bytes."
    Submission.objects.filter(pk=entry.pk).update(state="verified")
    progress = reverse("api:progress", args=[entry.pk])
    assert_error(client.post(progress, {"stage": "x", "percent": 1}, content_type="application/json", **auth),
                 409, "wrong_state")
    type(challenge).objects.filter(pk=challenge.pk).update(max_submissions_per_day=1)
    body = assert_error(client.post(url, b"{}", content_type="application/json", **auth), 400, "bad_upload")
    assert body["remaining_today"] == 0


def test_quota_and_serializer_errors_have_their_codes(client, users, challenge, zk, zk2, auth):
    url = reverse("api:create_submission", args=[challenge.slug])
    type(challenge).objects.filter(pk=challenge.pk).update(max_submissions_per_day=1)
    assert client.post(url, zk.commitment_bytes, content_type="application/json", **auth).status_code == 201
    body = assert_error(client.post(url, zk2.commitment_bytes, content_type="application/json", **auth),
                        400, "quota_exceeded")
    assert body["remaining_today"] == 0 and "you can commit again from" in body["detail"]
    body = assert_error(client.post(url, {"proof_mode": "hosted"}, **auth), 400, "bad_input")
    assert body["fields"]["commitment"] == ["Send the commitment as multipart field 'commitment' or as the JSON body."]
    body = assert_error(client.post(url + "?proof_mode=sometimes", zk2.commitment_bytes,
                                    content_type="application/json", **auth), 400, "bad_input")
    assert body["detail"] == "Unknown proof mode."
    body = assert_error(client.post(url, {"commitment": "not a file"}, **auth), 400, "bad_input")
    assert body["detail"] == "The commitment must be sent as a file."
    entry = Submission.objects.get()
    progress = reverse("api:progress", args=[entry.pk])
    body = assert_error(client.post(progress, b'{"stage": 5}', content_type="application/json", **auth),
                        400, "bad_input")
    assert body["fields"] == {"stage": [body["detail"]]} and "stage must be a string" in body["detail"]
    assert_error(client.post(progress, b"[" * 100, content_type="application/json", **auth), 400, "parse_error")
    assert_error(client.post(progress, b"stage=x", content_type="text/plain", **auth), 415, "unsupported_media_type")


class _NoRead:
    """A wsgi.input that fails the test if anything reads the body."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


@pytest.mark.parametrize("name, content_type", [("api:create_submission", "application/json"),
                                                ("api:upload_proof", "application/octet-stream")])
def test_an_oversized_whole_body_upload_is_refused_unread(client, users, challenge, zk, auth, settings, name,
                                                          content_type):
    """Within the request limit but over the file's own limit: a 400 from the declared size alone."""
    settings.MAX_COMMITMENT_BYTES = settings.MAX_PROOF_BYTES = 1 << 20
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    url = reverse(name, args=[challenge.slug if name == "api:create_submission" else entry.pk])
    response = client.generic("POST", url, b"", CONTENT_TYPE=content_type, CONTENT_LENGTH=str(2 << 20),
                              **{"wsgi.input": _NoRead()}, **auth)
    body = assert_error(response, 400, "bad_upload")
    assert "file is larger than" in body["detail"]
    assert Submission.objects.count() == 1


def test_progress_serializer_refuses_what_json_cannot_carry_but_python_can():
    """The parser already refuses these; the serializer does not rely on it."""
    from api.serializers import ProgressReportSerializer

    for percent, message in [(10 ** 400, "must be finite"), (float("nan"), "must be finite"), ("5", "a number")]:
        report = ProgressReportSerializer(data={"stage": "x", "percent": percent})
        assert not report.is_valid() and message in str(report.errors["percent"][0])
    report = ProgressReportSerializer(data={})
    assert report.is_valid() and report.validated_data == {"stage": "proving", "percent": 0.0}


def test_http_errors_are_json_with_codes(client, challenge, auth, settings):
    body = assert_error(client.post(reverse("api:leaderboard", args=[challenge.slug])), 405, "method_not_allowed")
    assert body["detail"] == "Method POST not allowed; allowed: GET, HEAD, OPTIONS."
    response = client.put(reverse("api:create_submission", args=[challenge.slug]), b"{}", **auth)
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST, OPTIONS"
    assert_error(client.delete("/api/submissions/1", **auth), 405, "method_not_allowed")
    assert_error(client.get("/api/challenges", HTTP_ACCEPT="text/html"), 406, "not_acceptable")
    assert_error(client.get("/api/no/such/thing"), 404, "not_found")
    assert_error(client.get("/api/challenges/nope"), 404, "not_found")
    assert_error(client.get("/api/challenges/nope/leaderboard"), 404, "not_found")
    assert_error(client.get(f"/api/challenges/{challenge.slug}/leaderboard?page=2"), 404, "not_found")
    assert_error(client.get("/api/submissions/999999", **auth), 404, "not_found")
    settings.MAX_REQUEST_BYTES = 1000
    assert_error(client.post(reverse("api:create_submission", args=[challenge.slug]), b"x" * 2000,
                             content_type="application/json", **auth), 413, "payload_too_large")
    strict = Client(enforce_csrf_checks=True)
    assert_error(strict.post("/api/no-such-endpoint", {"x": "1"}), 403, "csrf_failed")


def test_test_set_before_the_reveal(client, make_challenge):
    hidden = make_challenge("hidden", revealed=False)
    body = assert_error(client.get(reverse("api:test_set", args=["hidden"])), 403, "not_revealed")
    assert body["test_set_sha256"] == hidden.test_set_sha256 and body["reveal_at"] == hidden.reveal_at.isoformat()


def test_a_server_error_under_api_is_json(client, challenge, monkeypatch):
    """An unexpected exception in an API view: Django's handler500, as JSON, with no traceback."""
    from api import views

    def broken(slug):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views, "find_challenge", broken)
    quiet = Client(raise_request_exception=False)
    body = assert_error(quiet.get(reverse("api:challenge", args=[challenge.slug])), 500, "server_error")
    assert "secret" not in body["detail"]


# ---------------------------------------------------------------- authentication

def test_existing_tokens_authenticate(client, users, challenge, zk):
    """A token stored as before (only its SHA-256, in ApiToken) authenticates; revoked, it does not."""
    raw = "pb_an-existing-token-made-before-drf"
    token = ApiToken.objects.create(user=users.alice, name="old", prefix=raw[:10], key_hash=hash_token(raw))
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    url = reverse("api:submission", args=[entry.pk])
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {raw}").json()["id"] == entry.pk
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    response = client.get(url)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert_error(client.get(url, HTTP_AUTHORIZATION="Token pb_wrong"), 401, "authentication_failed")
    assert revoke_token(users.alice, token.pk)
    assert_error(client.get(url, HTTP_AUTHORIZATION=f"Token {raw}"), 401, "authentication_failed")


def test_a_session_does_not_authenticate_the_api(client, users, challenge, zk):
    client.force_login(users.alice)
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), zk.commitment_bytes,
                           content_type="application/json")
    assert_error(response, 401, "not_authenticated")
    assert not Submission.objects.exists()


def test_public_reads_ignore_the_authorization_header(client, challenge):
    response = client.get(reverse("api:challenge", args=[challenge.slug]), HTTP_AUTHORIZATION="Token pb_revoked")
    assert response.status_code == 200 and response.json()["slug"] == challenge.slug


# ---------------------------------------------------------------- throttling

def test_uploads_are_throttled_per_account_with_retry_after(client, users, challenge, zk, zk2, auth, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload": (2, 3600)}
    url = reverse("api:create_submission", args=[challenge.slug])
    first = Client(REMOTE_ADDR="10.0.0.1").post(url, zk.commitment_bytes, content_type="application/json", **auth)
    entry_id = first.json()["id"]
    proof = Client(REMOTE_ADDR="10.0.0.2").post(reverse("api:upload_proof", args=[entry_id]), b"junk",
                                                content_type="application/octet-stream", **auth)
    assert proof.status_code == 400       # counted all the same: refused uploads cost the budget too
    response = Client(REMOTE_ADDR="10.0.0.3").post(url, zk2.commitment_bytes, content_type="application/json", **auth)
    body = assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 3600
    assert body["detail"] == f"Too many uploads: try again in {response['Retry-After']} s."
    assert Submission.objects.count() == 1
    # Reads, OPTIONS and methods the view does not take are not uploads.
    assert client.get(reverse("api:submission", args=[entry_id]), **auth).status_code == 200


def test_only_uploads_count_against_the_upload_limit(client, challenge, zk, auth, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload": (1, 3600)}
    url = reverse("api:create_submission", args=[challenge.slug])
    assert client.options(url, **auth).status_code == 200
    assert_error(client.put(url, b"{}", content_type="application/json", **auth), 405, "method_not_allowed")
    assert_error(client.get(url, **auth), 405, "method_not_allowed")
    assert client.post(url, zk.commitment_bytes, content_type="application/json", **auth).status_code == 201
    assert_error(client.post(url, b"{}", content_type="application/json", **auth), 429, "throttled")


def test_the_throttle_and_the_web_pages_share_one_window(client, users, challenge, zk, auth, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload": (1, 3600)}
    client.force_login(users.alice)
    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", zk.commitment_bytes), "proof_mode": "self_hosted"})
    assert response.status_code == 302
    api = Client(REMOTE_ADDR="10.9.9.9")
    assert_error(api.post(reverse("api:create_submission", args=[challenge.slug]), zk.commitment_bytes,
                          content_type="application/json", **auth), 429, "throttled")


# ---------------------------------------------------------------- pagination

def test_challenge_list_is_paginated(client, make_challenge):
    now = timezone.now()
    for i in range(5):
        make_challenge(f"c{i}", opens_at=now - timedelta(days=10 - i))
    first = client.get("/api/challenges", {"per_page": 2}).json()
    assert (first["count"], first["page"], first["per_page"], first["pages"]) == (5, 1, 2, 3)
    assert [c["slug"] for c in first["challenges"]] == ["c4", "c3"]   # newest first
    assert first["previous"] is None and "page=2" in first["next"] and "per_page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert [c["slug"] for c in second["challenges"]] == ["c2", "c1"] and "page=1" in second["previous"]
    last = client.get("/api/challenges", {"per_page": 2, "page": 3}).json()
    assert [c["slug"] for c in last["challenges"]] == ["c0"] and last["next"] is None
    everything = client.get("/api/challenges", {"per_page": 1000}).json()
    assert everything["per_page"] == 200 and everything["count"] == len(everything["challenges"]) == 5
    assert_error(client.get("/api/challenges", {"page": 4, "per_page": 2}), 404, "not_found")
    assert_error(client.get("/api/challenges", {"page": "x"}), 404, "not_found")
    assert client.get("/api/challenges").json()["per_page"] == 50


# ---------------------------------------------------------------- the self-hosted client

def test_the_client_reads_detail_and_code():
    from prover_worker.client import error_of

    error = error_of(409, b'{"code": "wrong_state", "detail": "new text", "error": "old text"}')
    assert (error.status, error.code, error.message) == (409, "wrong_state", "new text")
    assert error_of(400, b'{"error": "from an older platform"}').message == "from an older platform"
    assert error_of(502, b"<html>Bad gateway</html>").message == "<html>Bad gateway</html>"
    assert error_of(500, b'["not an object"]').code == ""


def test_the_client_against_the_live_api(live_server):
    from prover_worker.client import ApiError, PlatformClient

    with pytest.raises(ApiError) as raised:
        PlatformClient(live_server.url, "pb_not-a-token").get_json("submissions/1")
    assert (raised.value.status, raised.value.code) == (401, "authentication_failed")
    assert raised.value.message == "Invalid or revoked API token."
