"""Phones: no page scrolls sideways at 390 px (the width of a common phone).

Measured in a real browser (Playwright driving Debian's Chromium, see browsers.py) emulating a
390 × 900 mobile viewport: each page, loaded from a live server, must report
`document.documentElement.scrollWidth` of 390.
"""
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from submissions import services
from submissions.models import Submission

WIDTH = 390


def _verified(challenge, user, correct, minutes_ago, label):
    return Submission.objects.create(
        challenge=challenge, participant=user, commitment=b"{}", proof=b"p" * 10, proof_size=84000, label=label,
        state="verified", correct_count=correct, total_count=200, verified_at=timezone.now(),
        created_at=timezone.now() - timedelta(minutes=minutes_ago), prove_seconds=5.0, verify_seconds=1.6,
        architecture={"layers": [{"in": 64, "out": 32}, {"in": 32, "out": 10}], "parameter_count": 2410},
        parameter_count=2410, verification_record={"correct_count": correct})


def test_no_page_scrolls_sideways_at_390px(transactional_db, live_server, chromium, client, users, make_challenge,
                                           zk):
    challenge = make_challenge(max_submissions_per_day=1)
    entries = [_verified(challenge, u, c, m, label) for u, c, m, label in (
        (users.alice, 183, 3000, "mlp-32-with-a-long-label"), (users.bob, 185, 2000, "mlp-16"),
        (users.host, 179, 1500, "baseline mlp-8"))]  # before today
    services.create_submission(users.alice, challenge, zk.commitment_bytes)  # her limit is used up
    client.force_login(users.alice)
    session_id = client.cookies["sessionid"].value
    pages = [reverse("challenges:list"), challenge.get_absolute_url(), entries[0].get_absolute_url(),
             reverse("challenges:submit", args=[challenge.slug]), reverse("submissions:mine"),
             reverse("accounts:tokens"), reverse("accounts:login")]

    page = chromium.new_page(viewport={"width": WIDTH, "height": 900}, is_mobile=True, device_scale_factor=1)
    page.context.add_cookies([{"name": "sessionid", "value": session_id, "url": live_server.url}])
    widths = {}
    for path in pages:
        page.goto(live_server.url + path)
        assert page.url == live_server.url + path  # the page itself, not a redirect (to the login page)
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
        if path == pages[3]:  # really logged in: the submit page, with its disabled Commit button
            assert page.locator("main button.primary[type=submit]").is_disabled()
    assert widths == {path: WIDTH for path in pages}
