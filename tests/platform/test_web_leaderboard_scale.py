"""Issue 9, item 4: the leaderboard (page and JSON) is paginated and cached, and the cache is
invalidated when an entry becomes final (verified) or is disqualified. Timing targets live in the
load benchmark (bench/bench_leaderboard.py), not here."""
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from challenges.models import Challenge
from submissions import selectors, services
from submissions.models import Submission

pytestmark = pytest.mark.django_db


def _entries(challenge, user, counts, **extra):
    now = timezone.now()
    rows = [Submission(challenge=challenge, participant=user, commitment=b"{}", proof=b"p", proof_size=1,
                       state="verified", correct_count=c, total_count=200, verified_at=now,
                       created_at=now - timedelta(minutes=len(counts) - i),
                       architecture={"layers": [{"in": 64, "out": 10}]}, parameter_count=650, **extra)
            for i, c in enumerate(counts)]
    return Submission.objects.bulk_create(rows)  # no signals: a bulk load bumps nothing by itself


def test_json_leaderboard_pages(client, users, challenge, settings):
    settings.LEADERBOARD_PAGE_SIZE = 3
    rows = _entries(challenge, users.alice, [100, 190, 150, 170, 120, 180, 160])
    _entries(challenge, users.bob, [199], late=True)
    url = reverse("api:leaderboard", args=[challenge.slug])
    first = client.get(url).json()
    assert (first["page"], first["per_page"], first["pages"]) == (1, 3, 3)
    assert first["counts"] == {"ranking": 7, "late": 1, "disqualified": 0}
    assert [r["correct_count"] for r in first["ranking"]] == [190, 180, 170]
    assert [r["rank"] for r in first["ranking"]] == [1, 2, 3] and len(first["late"]) == 1
    assert first["previous"] is None and first["next"].endswith(f"{url}?page=2&per_page=3")
    last = client.get(first["next"].replace("page=2", "page=3")).json()
    assert [(r["rank"], r["correct_count"]) for r in last["ranking"]] == [(7, 100)] and last["late"] == []
    assert last["next"] is None and last["previous"].endswith("?page=2&per_page=3")
    everything = client.get(url, {"per_page": 1000}).json()  # clamped to LEADERBOARD_MAX_PAGE_SIZE
    assert everything["per_page"] == settings.LEADERBOARD_MAX_PAGE_SIZE and len(everything["ranking"]) == 7
    assert {r["submission"] for r in everything["ranking"]} == {r.pk for r in rows}
    assert client.get(url, {"page": 4}).status_code == 404
    assert client.get(url, {"page": 0}).status_code == 404


def test_html_leaderboard_pages(client, users, challenge, settings):
    settings.LEADERBOARD_PAGE_SIZE = 2
    _entries(challenge, users.alice, [150, 160, 170, 180, 190])
    page1 = client.get(challenge.get_absolute_url()).content.decode()
    assert "page 1 of 3" in page1 and "?page=2" in page1 and "<svg" in page1
    board = page1.split("<h2>Leaderboard</h2>")[1].split("</table>")[0]
    assert "95.00%" in board and "90.00%" in board and "85.00%" not in board
    page3 = client.get(challenge.get_absolute_url(), {"page": 3}).content.decode()
    assert "75.00%" in page3 and "95.00%" not in page3, page3
    assert "<td>5</td>" in page3 and "?page=2" in page3, page3
    assert client.get(challenge.get_absolute_url(), {"page": 4}).status_code == 404
    assert client.get(challenge.get_absolute_url(), {"page": "x"}).status_code == 404


def test_pages_are_cached_until_an_entry_becomes_final(client, users, challenge, zk, prove_for):
    (seeded,) = _entries(challenge, users.bob, [120])
    url = reverse("api:leaderboard", args=[challenge.slug])
    assert [r["correct_count"] for r in client.get(url).json()["ranking"]] == [120]
    client.get(challenge.get_absolute_url())
    # Served from the cache: a write that bypasses the services is not seen, and a page view costs
    # no leaderboard query (the challenge row, and nothing else, for an anonymous reader).
    Submission.objects.filter(pk=seeded.pk).update(correct_count=121)
    assert [r["correct_count"] for r in client.get(url).json()["ranking"]] == [120]
    with CaptureQueriesContext(connection) as queries:
        page = client.get(challenge.get_absolute_url())
    assert page.status_code == 200 and len(queries) == 1, [q["sql"] for q in queries]
    # A real entry verified by the verification service bumps the version: the next read is fresh.
    version = Challenge.objects.get(pk=challenge.pk).board_version
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    services.upload_proof(users.alice, entry, prove_for(entry))
    assert services.run_verification(entry.pk) == "verified"
    assert Challenge.objects.get(pk=challenge.pk).board_version == version + 1
    board = client.get(url).json()
    ranking = board["ranking"] + board["late"]  # committed after the reveal: a late entry
    assert {r["submission"] for r in ranking} == {seeded.pk, entry.pk}
    assert next(r for r in ranking if r["submission"] == seeded.pk)["correct_count"] == 121
    # Disqualification moves the entry off the ranking at once, on every cached page.
    services.disqualify(users.host, Submission.objects.get(pk=entry.pk), "shared weights")
    board = client.get(url).json()
    assert [r["submission"] for r in board["ranking"]] == [seeded.pk] and board["late"] == []
    assert board["disqualified"][0]["disqualified_reason"] == "shared weights"
    assert "shared weights" in client.get(challenge.get_absolute_url()).content.decode()
    # Deleting a verified entry (the admin) bumps it too.
    Submission.objects.get(pk=seeded.pk).delete()
    assert client.get(url).json()["counts"]["ranking"] == 0


def test_cache_keys_never_collide_across_challenges(client, users, make_challenge):
    a, b = make_challenge(slug="alpha"), make_challenge(slug="beta")
    _entries(a, users.alice, [150])
    assert client.get(reverse("api:leaderboard", args=["alpha"])).json()["counts"]["ranking"] == 1
    assert client.get(reverse("api:leaderboard", args=["beta"])).json()["counts"]["ranking"] == 0
    assert selectors.leaderboard_page(b).main == [] and cache.get("nonexistent") is None
