"""Pages a person can use: disabled actions say why and until when, times carry their zone,
plurals, rendered help texts, a favicon, readable charts with one point or many, one dataset
file name everywhere, and HEAD wherever GET works."""
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from submissions import services
from submissions.chart import accuracy_chart_svg
from submissions.models import Submission

pytestmark = pytest.mark.django_db


def _verified(challenge, user, correct=180, minutes_ago=30):
    return Submission.objects.create(
        challenge=challenge, participant=user, commitment=b"{}", proof=b"p" * 10, proof_size=10,
        state="verified", correct_count=correct, total_count=200, verified_at=timezone.now(),
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        architecture={"layers": [{"in": 64, "out": 16}, {"in": 16, "out": 10}], "parameter_count": 1210},
        parameter_count=1210, verification_record={"correct_count": correct})


def test_used_up_daily_limit_disables_commit_and_says_until_when(client, users, make_challenge, zk):
    """With the limit used up, the challenge page shows a disabled button (no link) and the submit
    page a disabled Commit button, both with the reset time (next midnight UTC) and the time left."""
    challenge = make_challenge(max_submissions_per_day=1)
    client.force_login(users.alice)
    page = client.get(challenge.get_absolute_url()).content.decode()
    submit_url = reverse("challenges:submit", args=[challenge.slug])
    assert f'href="{submit_url}"' in page and "disabled" not in page
    services.create_submission(users.alice, challenge, zk.commitment_bytes)

    resets = (timezone.now().astimezone(dt_timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d 00:00")
    page = client.get(challenge.get_absolute_url()).content.decode()
    assert f'href="{submit_url}"' not in page
    assert 'class="button primary disabled" aria-disabled="true"' in page
    assert "Daily limit of 1 reached: you can commit again from" in page
    assert re.search(rf'<time datetime="[^"]+">{resets} UTC</time>\s*\(in \d+', page)

    page = client.get(submit_url).content.decode()
    assert re.search(r'<button class="primary" type="submit" disabled aria-describedby="limit-note">', page)
    assert f"{resets} UTC</time>" in page and "1 of 1 submission left" not in page
    assert "<strong>0</strong> of 1 submission left today" in page  # singular
    response = client.post(submit_url, {"proof_mode": "self_hosted",
                                        "commitment": SimpleUploadedFile("COMMIT.json", zk.commitment_bytes)})
    assert response.status_code == 200 and Submission.objects.count() == 1
    assert (f"You have used all 1 submission for today on this challenge; you can commit again from {resets} UTC."
            in response.content.decode())


def test_css_makes_disabled_look_disabled_and_fits_390px():
    """The stylesheet greys out disabled actions and keeps phones free of sideways scrolling
    (checked by eye with headless Chromium at 390 px; see docs/platform.md)."""
    css = open(finders.find("css/site.css")).read()
    assert "button:disabled, .button.disabled" in css and "not-allowed" in css
    assert "@media (max-width: 720px)" in css and "table { display: block; overflow-x: auto; }" in css
    assert "time { white-space: nowrap; }" in css


def test_times_carry_their_zone(client, users, challenge):
    entry = _verified(challenge, users.alice)
    client.force_login(users.alice)
    for url in (challenge.get_absolute_url(), entry.get_absolute_url(), reverse("submissions:mine"),
                reverse("challenges:list")):
        page = client.get(url).content.decode()
        times = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', page)
        assert times, url
        for iso, text in times:
            assert text.endswith(" UTC") and iso.endswith("+00:00"), (url, text)
    board = client.get(challenge.get_absolute_url()).content.decode()
    committed = timezone.localtime(entry.created_at, dt_timezone.utc).strftime("%Y-%m-%d %H:%M")
    assert f">{committed} UTC</time>" in board


def test_help_texts_render_code_not_backticks(client, users, challenge):
    client.force_login(users.alice)
    page = client.get(reverse("challenges:submit", args=[challenge.slug])).content.decode()
    assert "<code>zkml commit</code>" in page and "`" not in page


def test_plurals(client, users, challenge):
    client.force_login(users.host)
    entry = _verified(challenge, users.alice)
    response = client.post("/admin/submissions/submission/", {
        "action": "disqualify_selected", "_selected_action": [entry.pk], "apply": "1", "reason": "r"}, follow=True)
    page = response.content.decode()
    assert "1 entry disqualified" in page and "1 entries" not in page
    page = client.get(entry.get_absolute_url()).content.decode()
    assert "(2 layers, 1210 parameters)" in page


def test_favicon(client, challenge):
    page = client.get(reverse("challenges:list")).content.decode()
    assert re.search(r'<link rel="icon" href="/static/favicon.svg"', page)
    assert finders.find("favicon.svg")
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"


def test_chart_time_axis_with_one_point_and_many():
    """One point: the axis runs to now, so the two end labels differ; if now is the same minute,
    one label, not the same time twice. Many points: first point to now, all labelled in UTC."""
    t = datetime(2026, 11, 30, 9, 15, tzinfo=dt_timezone.utc)
    labels = lambda svg: re.findall(r'class="tick">(\d{4}-[^<]+)</text>', svg)  # noqa: E731
    assert labels(accuracy_chart_svg([(t, 91.0)], now=t + timedelta(hours=3))) == [
        "2026-11-30 09:15 UTC", "2026-11-30 12:15 UTC"]
    assert labels(accuracy_chart_svg([(t, 91.0)], now=t + timedelta(seconds=20))) == ["2026-11-30 09:15 UTC"]
    many = [(t + timedelta(hours=i), 80.0 + i) for i in range(12)]
    svg = accuracy_chart_svg(many, now=t + timedelta(days=1))
    assert labels(svg) == ["2026-11-30 09:15 UTC", "2026-12-01 09:15 UTC"]
    assert svg.count('class="dot"') == 12


def test_one_dataset_file_name_everywhere(client, users, challenge, zk):
    """The download, the challenge page's checksum line, the entry page's prove command and the
    bundle all use digits-test.npz."""
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    client.force_login(users.alice)
    download = client.get(reverse("challenges:test_set", args=[challenge.slug]))
    assert 'filename="digits-test.npz"' in download["Content-Disposition"]
    assert "sha256sum digits-test.npz" in client.get(challenge.get_absolute_url()).content.decode()
    page = client.get(entry.get_absolute_url()).content.decode()
    assert "--dataset digits-test.npz --out PROOF.bin" in page
    assert "test.npz" not in page.replace("digits-test.npz", "").replace("&lt;challenge&gt;-test.npz", "")


def test_head_works_where_get_does(client, users, challenge, token_for):
    """Every public page and API read answers HEAD like GET (same status, no body), not 405."""
    entry = _verified(challenge, users.alice)
    urls = [reverse("challenges:list"), challenge.get_absolute_url(), entry.get_absolute_url(),
            reverse("challenges:test_set", args=[challenge.slug]), reverse("submissions:bundle", args=[entry.pk]),
            reverse("submissions:status", args=[entry.pk]), reverse("accounts:login"), reverse("accounts:signup"),
            "/api/openapi.json", reverse("api:leaderboard", args=[challenge.slug]), "/favicon.ico", "/"]
    for url in urls:
        get, head = client.get(url), client.head(url)
        assert head.status_code == get.status_code and get.status_code in (200, 301, 302), (url, head.status_code)
        assert not b"".join(head.streaming_content if head.streaming else [head.content]), url
