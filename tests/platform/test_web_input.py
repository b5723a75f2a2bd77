"""Hostile input is refused with a clear 4xx, never a 500 (issue 9, item 1)."""
import json
import time

import pytest
from django.urls import reverse

from submissions import services
from submissions.models import Submission

pytestmark = pytest.mark.django_db
MIB = 1 << 20


@pytest.fixture
def alice_entry(users, challenge, zk):
    return services.create_submission(users.alice, challenge, zk.commitment_bytes)


@pytest.fixture
def auth(users, token_for):
    return {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}


@pytest.mark.parametrize("body, message", [
    ('{"stage": "x", "percent": ' + "9" * 400 + "}", "more than 64 digits"),
    ('{"stage": "x", "percent": 1' + "0" * 400 + ".5}", "out of range"),
    ('{"stage": "x", "percent": 1e999}', "out of range"),
    ('{"stage": "x", "percent": NaN}', "NaN is not a JSON number"),
    ("[" * 60_000, "nested deeper"),
    ('{"stage": ' + "[" * 60_000, "nested deeper"),
    ('{"stage": ["x"], "percent": 3}', "nested deeper"),
    ('{"stage": 5, "percent": 3}', "stage must be a string"),
    ('{"stage": "x", "percent": "50"}', "percent must be a number"),
    ('{"stage": "x", "percent": true}', "percent must be a number"),
    ('{"stage": "x", "percent": null}', "percent must be a number"),
    ('["stage", 5]', "must be a JSON object"),
    ('"just a string"', "must be a JSON object"),
    ("{not json", "not valid JSON"),
    (b'{"stage": "\xff"}', "not valid JSON"),
    ('{"stage": "a\\u0000b", "percent": 1}', "NUL"),
])
def test_progress_refuses_hostile_bodies_with_400(client, alice_entry, auth, body, message):
    data = body if isinstance(body, bytes) else body.encode()
    start = time.perf_counter()
    response = client.post(reverse("api:progress", args=[alice_entry.pk]), data,
                           content_type="application/json", **auth)
    assert time.perf_counter() - start < 2
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    alice_entry.refresh_from_db()
    assert alice_entry.state == "committed" and alice_entry.progress_percent == 0


def test_progress_accepts_a_well_formed_report(client, alice_entry, auth):
    response = client.post(reverse("api:progress", args=[alice_entry.pk]), {"stage": "sumcheck", "percent": 142.5},
                           content_type="application/json", **auth)
    assert response.status_code == 200
    assert response.json()["progress"] == {"stage": "sumcheck", "percent": 100}


@pytest.mark.parametrize("content", [
    '{"format": "proofboard-zkml-commitment", "version": ' + "9" * 5000 + "}",
    '["' + '\\"' * (MIB // 2 - 8),
    "[" * (MIB - 8),
])
def test_hostile_commitments_are_a_fast_400(client, users, challenge, auth, content):
    """Measured before the fix: 1 MiB of escaped quotes about an hour, 5,000 digits a 500."""
    start = time.perf_counter()
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), content.encode(),
                           content_type="application/json", **auth)
    assert time.perf_counter() - start < 3
    assert response.status_code == 400 and "Not a valid commitment file" in response.json()["error"]
    assert not Submission.objects.exists()


class _NoRead:
    """A wsgi.input that fails the test if anything reads the body."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


@pytest.mark.parametrize("name, args, anonymous", [
    ("accounts:login", [], True),
    ("accounts:signup", [], True),
    ("accounts:tokens", [], False),
    ("api:progress", [1], False),
    ("challenges:submit", ["digits"], True),       # an upload page, but only for a logged-in user
    ("submissions:upload_proof", [1], True),
    ("admin:login", [], True),
])
def test_large_bodies_on_pages_without_uploads_are_refused_unread(client, users, challenge, auth, name, args,
                                                                   anonymous):
    """A 120 MiB POST to the login page is answered 413 from its Content-Length; nothing reads or spools it."""
    if not anonymous:
        client.force_login(users.alice)
    url = reverse(name, args=args)
    response = client.generic("POST", url, b"", content_type="application/x-www-form-urlencoded",
                              CONTENT_LENGTH=str(120 * MIB), **{"wsgi.input": _NoRead()},
                              **(auth if url.startswith("/api/") else {}))
    assert response.status_code == 413
    text = response.json()["error"] if url.startswith("/api/") else response.content.decode()
    assert "takes no file uploads" in text and "64 KiB" in text


def test_upload_pages_still_take_large_bodies_from_their_users(client, users, challenge, zk, auth, settings):
    """The small limit does not apply to the upload views (for a logged-in user, or a token API view)."""
    settings.MAX_FORM_BYTES = 1000
    client.force_login(users.alice)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", zk.commitment_bytes), "proof_mode": "self_hosted"})
    assert response.status_code == 302
    response = client.post(reverse("api:create_submission", args=[challenge.slug]), zk.commitment_bytes,
                           content_type="application/json", **auth)
    assert response.status_code == 201
    response = client.post(reverse("api:progress", args=[response.json()["id"]]),
                           json.dumps({"stage": "x" * 2000, "percent": 1}), content_type="application/json", **auth)
    assert response.status_code == 413
