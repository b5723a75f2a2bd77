"""Challenges: pages, safe Markdown, commit-before-reveal, staff-only creation, test-set validation."""
import hashlib
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from challenges.models import Challenge
from challenges.services import render_markdown

pytestmark = pytest.mark.django_db


def test_markdown_is_sanitised():
    html = render_markdown("# Title\n\n<script>alert(1)</script> **bold** <img src=x onerror=alert(1)>")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "<script" not in html and "onerror" not in html


def test_list_and_detail_pages(client, challenge):
    assert challenge.title.encode() in client.get(reverse("challenges:list")).content
    response = client.get(challenge.get_absolute_url())
    assert response.status_code == 200
    assert challenge.test_set_sha256.encode() in response.content
    assert b"<strong>digits</strong>" in response.content


def test_test_set_hidden_before_reveal(client, make_challenge, test_set_bytes):
    hidden = make_challenge("hidden", revealed=False)
    response = client.get(hidden.get_absolute_url())
    assert hidden.test_set_sha256.encode() in response.content  # the digest is public
    assert reverse("challenges:test_set", args=["hidden"]).encode() not in response.content
    assert client.get(reverse("challenges:test_set", args=["hidden"])).status_code == 403
    assert client.get(reverse("api:test_set", args=["hidden"])).status_code == 403
    Challenge.objects.filter(pk=hidden.pk).update(reveal_at=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("challenges:test_set", args=["hidden"]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == test_set_bytes and hashlib.sha256(body).hexdigest() == hidden.test_set_sha256


def _form(test_set: bytes, **overrides):
    now = timezone.now()
    data = {
        "title": "Fresh", "slug": "fresh", "description": "d", "n_classes": 10, "input_shape": "64",
        "opens_at": now.strftime("%Y-%m-%d %H:%M"), "reveal_at": (now + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
        "proving_deadline": (now + timedelta(days=2)).strftime("%Y-%m-%d %H:%M"), "max_submissions_per_day": 3,
        "test_set": SimpleUploadedFile("t.npz", test_set),
    }
    data.update(overrides)
    return data


def test_only_staff_can_create(client, users, test_set_bytes):
    url = reverse("challenges:create")
    assert client.post(url, _form(test_set_bytes)).status_code == 302  # anonymous → login
    client.force_login(users.alice)
    response = client.post(url, _form(test_set_bytes))
    assert response.status_code == 302 and "/login" in response["Location"]
    assert not Challenge.objects.exists()
    client.force_login(users.host)
    response = client.post(url, _form(test_set_bytes))
    assert response.status_code == 302, response.content
    created = Challenge.objects.get(slug="fresh")
    assert created.test_set_sha256 == hashlib.sha256(test_set_bytes).hexdigest()
    assert created.test_set_size == 200 and created.input_shape == [64] and created.created_by == users.host
    response = client.post(reverse("challenges:edit", args=["fresh"]),
                           {**_form(test_set_bytes, title="Renamed"), "test_set": ""})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.title == "Renamed" and created.test_set_sha256 == hashlib.sha256(test_set_bytes).hexdigest()


@pytest.mark.parametrize("bad, message", [
    (b"not a zip", "not a .npz"),
    ("float64", "x must be float32"),
    ("labels", "Labels must be in [0, 10)"),
    ("shape", "expects [64]"),
    ("missing", "arrays named"),
    ("floaty", "integer labels"),
])
def test_bad_test_sets_are_rejected(client, users, digits, npz, bad, message):
    npz_bytes = npz
    x, y = digits.test_x, digits.test_y
    files = {
        "float64": npz_bytes(x=x.astype(np.float64), y=y),
        "labels": npz_bytes(x=x, y=y + 5),
        "shape": npz_bytes(x=x[:, :32], y=y),
        "missing": npz_bytes(x=x),
        "floaty": npz_bytes(x=x, y=y.astype(np.float32)),
    }
    client.force_login(users.host)
    response = client.post(reverse("challenges:create"), _form(files.get(bad, bad)))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Challenge.objects.exists()


def test_oversize_test_set_is_rejected(client, users, test_set_bytes):
    client.force_login(users.host)
    with override_settings(MAX_TEST_SET_BYTES=1000):
        response = client.post(reverse("challenges:create"), _form(test_set_bytes))
    assert "larger than 1000 bytes" in response.content.decode()
    assert not Challenge.objects.exists()


def test_admin_pages(client, users, challenge, token_for):
    from submissions.models import Submission

    entry = Submission.objects.create(challenge=challenge, participant=users.alice, commitment=b"{}",
                                      architecture={"layers": [{"in": 64, "out": 10}]})
    token_for(users.alice)
    token_id = users.alice.api_tokens.get().pk
    client.force_login(users.host)
    for url in (f"/admin/submissions/submission/{entry.pk}/change/", f"/admin/accounts/apitoken/{token_id}/change/",
                "/admin/submissions/submission/?state__exact=committed&q=alice", "/admin/auth/user/",
                reverse("challenges:create"), reverse("challenges:edit", args=[challenge.slug]),
                reverse("challenges:baseline", args=[challenge.slug]), entry.get_absolute_url(),"/admin/challenges/challenge/", f"/admin/challenges/challenge/{challenge.pk}/change/",
                "/admin/submissions/submission/", "/admin/accounts/apitoken/", "/admin/challenges/challenge/add/"):
        assert client.get(url).status_code == 200, url
    client.force_login(users.alice)
    assert client.get("/admin/challenges/challenge/").status_code == 302


def test_error_pages_have_no_traceback(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and b"Page not found" in response.content and b"Traceback" not in response.content
    response = client.get("/api/nope")
    assert response.status_code == 404 and response.json()["error"]


def test_admin_can_create_a_challenge_with_the_same_validation(client, users, test_set_bytes, digits, npz):
    client.force_login(users.host)
    url = "/admin/challenges/challenge/add/"
    bad = _form(npz(x=digits.test_x, y=digits.test_y + 9), slug="via-admin")
    response = client.post(url, bad)
    assert response.status_code == 200 and "Labels must be in [0, 10)" in response.content.decode()
    assert not Challenge.objects.exists()
    response = client.post(url, _form(test_set_bytes, slug="via-admin"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    created = Challenge.objects.get(slug="via-admin")
    assert created.created_by == users.host and created.test_set_size == 200


def test_reserved_slug(client, users, test_set_bytes):
    client.force_login(users.host)
    response = client.post(reverse("challenges:create"), _form(test_set_bytes, slug="new"))
    assert "reserved" in response.content.decode() and not Challenge.objects.exists()


def test_statement_is_locked_once_entries_exist_or_opened(client, users, make_challenge, test_set_bytes, digits, npz):
    """Test set, n_classes and input_shape cannot change after opens_at or once there are entries;
    with entries the reveal may only move later."""
    from submissions.models import Submission

    client.force_login(users.host)
    now = timezone.now()
    future = make_challenge("future", revealed=False, opens_at=now + timedelta(days=1),
                            reveal_at=now + timedelta(days=2), proving_deadline=now + timedelta(days=3))

    def edit(challenge, **overrides):
        data = _form(test_set_bytes, slug=challenge.slug, title="Edited",
                     opens_at=challenge.opens_at.strftime("%Y-%m-%d %H:%M"),
                     reveal_at=challenge.reveal_at.strftime("%Y-%m-%d %H:%M"),
                     proving_deadline=challenge.proving_deadline.strftime("%Y-%m-%d %H:%M"))
        data["test_set"] = ""
        data.update(overrides)
        return client.post(reverse("challenges:edit", args=[challenge.slug]), data)

    # not open yet, no entries: the statement can still change
    other_set = npz(x=digits.test_x[:100], y=digits.test_y[:100])
    assert edit(future, test_set=SimpleUploadedFile("t.npz", other_set)).status_code == 302
    future.refresh_from_db()
    assert future.test_set_size == 100
    # an opened challenge: locked (clear form errors), nothing saved
    opened = make_challenge("opened")
    before = (opened.test_set_sha256, opened.n_classes, opened.input_shape)
    response = edit(opened, test_set=SimpleUploadedFile("t.npz", other_set), n_classes=12, input_shape="8,8")
    page = response.content.decode()
    assert response.status_code == 200
    assert "The test set cannot be changed: the challenge has opened" in page
    assert "The number of classes cannot be changed" in page and "The input shape cannot be changed" in page
    opened.refresh_from_db()
    assert (opened.test_set_sha256, opened.n_classes, opened.input_shape) == before and opened.title != "Edited"
    assert edit(opened).status_code == 302  # other fields can still be edited
    # entries exist (even before opens_at): locked, and the reveal may only move later
    Submission.objects.create(challenge=future, participant=users.alice, commitment=b"{}")
    response = edit(future, n_classes=12)
    assert response.status_code == 200 and "already has entries" in response.content.decode()
    earlier = (future.reveal_at - timedelta(hours=5)).strftime("%Y-%m-%d %H:%M")
    response = edit(future, reveal_at=earlier)
    assert response.status_code == 200 and "can only be moved later" in response.content.decode()
    later = (future.reveal_at + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M")
    assert edit(future, reveal_at=later).status_code == 302
    # the admin uses the same form
    response = client.post(f"/admin/challenges/challenge/{opened.pk}/change/", {
        **_form(test_set_bytes, slug=opened.slug, n_classes=12), "test_set": "",
        "opens_at": opened.opens_at.strftime("%Y-%m-%d %H:%M")})
    assert response.status_code == 200 and "The number of classes cannot be changed" in response.content.decode()
