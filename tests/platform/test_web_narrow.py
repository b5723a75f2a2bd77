"""Phones: no page scrolls sideways at 390 px (the width of a common phone).

Measured in a real browser: headless Chromium, driven over its DevTools protocol on a pipe
(`--remote-debugging-pipe`: no extra package, no port), emulating a 390 × 900 mobile viewport,
loads each page from a live server and reports `document.documentElement.scrollWidth`; it must
not exceed 390. Skipped where no Chromium is installed (`apt-get install chromium`).
"""
import json
import os
import shutil
import subprocess
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from submissions import services
from submissions.models import Submission

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
WIDTH = 390


class Chromium:
    """Headless Chromium speaking the DevTools protocol over fds 3 (commands) and 4 (replies)."""

    def __init__(self, exe: str, profile: str):
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def wire_fds():  # in the child: the protocol's fixed descriptors
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=wire_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf, self._id = b"", 0

    def call(self, method: str, session: str | None = None, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buf:
                chunk = os.read(self._r, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the protocol pipe")
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, session: str, expression: str):
        return self.call("Runtime.evaluate", session, expression=expression, returnByValue=True)["result"]["value"]

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:  # noqa: BLE001 -- already gone
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._w)
        os.close(self._r)


def _verified(challenge, user, correct, minutes_ago, label):
    return Submission.objects.create(
        challenge=challenge, participant=user, commitment=b"{}", proof=b"p" * 10, proof_size=84000, label=label,
        state="verified", correct_count=correct, total_count=200, verified_at=timezone.now(),
        created_at=timezone.now() - timedelta(minutes=minutes_ago), prove_seconds=5.0, verify_seconds=1.6,
        architecture={"layers": [{"in": 64, "out": 32}, {"in": 32, "out": 10}], "parameter_count": 2410},
        parameter_count=2410, verification_record={"correct_count": correct})


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_no_page_scrolls_sideways_at_390px(transactional_db, live_server, client, users, make_challenge, zk,
                                           tmp_path):
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

    browser = Chromium(CHROMIUM, str(tmp_path / "profile"))
    try:
        browser.call("Storage.setCookies", cookies=[{"name": "sessionid", "value": session_id,
                                                     "url": live_server.url, "path": "/"}])
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.call("Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=900,
                     deviceScaleFactor=1, mobile=True)
        widths = {}
        for path in pages:
            browser.call("Page.navigate", session, url=live_server.url + path)
            deadline = time.monotonic() + 30
            while browser.evaluate(session, "document.readyState") != "complete" or \
                    browser.evaluate(session, "location.pathname") != path:
                assert time.monotonic() < deadline, f"{path} did not load"
                time.sleep(0.05)
            widths[path] = browser.evaluate(session, "document.documentElement.scrollWidth")
            if path == pages[3]:  # really logged in: the submit page, with its disabled Commit button
                assert browser.evaluate(session, "document.querySelector('main button.primary[type=submit]').disabled")
    finally:
        browser.close()
    assert widths == {path: WIDTH for path in pages}
