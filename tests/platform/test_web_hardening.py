"""Issue 9, item 5: rate limits with a clear 429, private files 0600 in 0700 directories, secure
defaults with DEBUG off (check --deploy), a Content-Security-Policy the pages satisfy, and JSON for
every API error. Real PostgreSQL, real Redis (the cache), Django's test client."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from submissions import services
from submissions.models import Submission

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def _limit(settings, scope, count, window=300):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: (count, window)}


# ---------------------------------------------------------------- rate limits

def test_login_is_throttled_per_ip_and_per_username(client, users, settings):
    _limit(settings, "login", 3)
    url = reverse("accounts:login")
    for _ in range(3):
        response = client.post(url, {"username": "alice", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    response = client.post(url, {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 301
    assert b"Too many log-in attempts" in response.content and "_auth_user_id" not in client.session
    # Another address, the same account: still refused (a distributed guess of one password).
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert other.post(url, {"username": "ALICE", "password": "pw-alice-123"}).status_code == 429
    # Another account from a fresh address is not affected; GET (the form) is never counted.
    fresh = Client(REMOTE_ADDR="10.0.0.3")
    assert fresh.get(url).status_code == 200
    assert fresh.post(url, {"username": "bob", "password": "pw-bob-123"}).status_code == 302


def test_signup_is_throttled_per_ip(client, settings, django_user_model):
    _limit(settings, "signup", 2, 3600)
    url = reverse("accounts:signup")
    for i in range(2):
        c = Client()  # a fresh session each time (a logged-in user is redirected)
        response = c.post(url, {"username": f"spam{i}", "password1": "x-long-pass-9", "password2": "x-long-pass-9"})
        assert response.status_code == 302
    response = Client().post(url, {"username": "spam9", "password1": "x-long-pass-9", "password2": "x-long-pass-9"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert not django_user_model.objects.filter(username="spam9").exists()
    assert Client(REMOTE_ADDR="10.0.0.9").post(url, {"username": "spam10", "password1": "x-long-pass-9",
                                                        "password2": "x-long-pass-9"}).status_code == 302


def test_token_creation_is_throttled_per_account(client, users, settings):
    _limit(settings, "token", 2, 3600)
    client.force_login(users.alice)
    url = reverse("accounts:tokens")
    assert [client.post(url, {"name": f"t{i}"}).status_code for i in range(2)] == [302, 302]
    assert client.post(url, {"name": "t3"}).status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.4")
    other.force_login(users.alice)
    assert other.post(url, {"name": "t4"}).status_code == 429  # per account, whatever the address
    assert users.alice.api_tokens.count() == 2


def test_api_uploads_are_throttled_with_a_json_429(client, users, challenge, zk, token_for, settings):
    _limit(settings, "upload", 1, 3600)
    url = reverse("api:create_submission", args=[challenge.slug])
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    assert client.post(url, zk.commitment_bytes, content_type="application/json", **auth).status_code == 201
    response = Client(REMOTE_ADDR="10.0.0.5").post(url, zk.commitment_bytes, content_type="application/json", **auth)
    assert response.status_code == 429 and response["Content-Type"] == "application/json"
    assert response.json()["error"].startswith("Too many uploads") and int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
    assert Submission.objects.count() == 1
    # The web form of another participant from the same address is refused per IP.
    client.force_login(users.bob)
    response = client.post(reverse("challenges:submit", args=[challenge.slug]), {
        "commitment": SimpleUploadedFile("COMMIT.json", zk.commitment_bytes), "proof_mode": "self_hosted"})
    assert response.status_code == 429


def test_rate_limit_counter_windows_and_proxy_address(settings, rf):
    from proofboard import ratelimit

    assert ratelimit.hit("t", "who", 2, 60, now=1000.0) is None
    assert ratelimit.hit("t", "who", 2, 60, now=1001.0) is None
    assert ratelimit.hit("t", "who", 2, 60, now=1002.0) == 18  # over; the window [960, 1020) ends in 18 s
    assert ratelimit.hit("t", "who", 2, 60, now=1019.5) == 1  # never a Retry-After of 0
    assert ratelimit.hit("t", "other", 2, 60, now=1019.5) is None  # counters are per `who`
    assert ratelimit.hit("t", "who", 2, 60, now=1020.0) is None  # a new window
    assert ratelimit.hit("t", "who", 0, 60) is None  # 0 disables
    request = rf.get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert ratelimit.client_ip(request) == "10.1.1.1"  # the header is the client's word
    settings.BEHIND_PROXY = True
    assert ratelimit.client_ip(request) == "203.0.113.7"  # the address the trusted proxy appended


# ---------------------------------------------------------------- private files

def test_test_sets_are_0600_in_0700_directories(make_challenge, settings):
    old = os.umask(0o022)
    try:
        challenge = make_challenge(slug="hidden", revealed=False)
    finally:
        os.umask(old)
    path = Path(challenge.test_set.path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert Path(settings.PRIVATE_DIR).stat().st_mode & 0o777 == 0o700


# ---------------------------------------------------------------- deployment defaults

def _settings_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "DEBUG", "PROOFBOARD_ALLOW_INSECURE_KEY", "PYTEST_VERSION", "ALLOWED_HOSTS")
           and not k.startswith("PROOFBOARD_") or k in ("PROOFBOARD_VAR_DIR",)}
    return {**env, **extra}


def test_check_deploy_passes_with_only_secret_key_debug_and_hosts():
    env = _settings_env(SECRET_KEY="k3y-" + "x7Q!pz" * 10, DEBUG="0", ALLOWED_HOSTS="proofboard.example.org")
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout
    probe = ("import json; from django.conf import settings as s; print(json.dumps([s.SECURE_SSL_REDIRECT, "
             "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
             "getattr(s, 'SECURE_PROXY_SSL_HEADER', None)]))")
    shell = [sys.executable, "manage.py", "shell", "-c", probe]
    out = subprocess.run(shell, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[true, true, true, 31536000, null]", out.stderr
    out = subprocess.run(shell, cwd=REPO, env={**env, "PROOFBOARD_BEHIND_PROXY": "1"}, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == '[true, true, true, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"]]', out.stderr
    # The demo's setup (public key allowed, DEBUG off) serves plain http on loopback: no redirect.
    demo = {**_settings_env(PROOFBOARD_ALLOW_INSECURE_KEY="1")}
    out = subprocess.run(shell, cwd=REPO, env=demo, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[false, false, false, 0, null]", out.stderr


def test_https_redirect_and_hsts_when_not_local(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/challenges/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    response = client.get("/challenges/", secure=True)
    assert response.status_code == 200 and "max-age=31536000" in response["Strict-Transport-Security"]


# ---------------------------------------------------------------- Content-Security-Policy

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event-handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_pages_satisfy_the_content_security_policy(client, users, challenge, zk, settings):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    Submission.objects.filter(pk=entry.pk).update(state="proving", progress_percent=40)
    client.force_login(users.host)  # staff: every page, including the admin and the failures list
    pages = ["/challenges/", challenge.get_absolute_url(), reverse("submissions:detail", args=[entry.pk]),
             reverse("submissions:mine"), reverse("accounts:tokens"), reverse("challenges:submit", args=[challenge.slug]),
             reverse("submissions:failures"), reverse("challenges:create"), "/admin/",
             "/admin/submissions/submission/", f"/admin/submissions/submission/{entry.pk}/change/", "/nowhere/"]
    anonymous = Client()
    pages_anon = [reverse("accounts:login"), reverse("accounts:signup")]
    for c, urls in ((client, pages), (anonymous, pages_anon)):
        for url in urls:
            response = c.get(url)
            assert response.status_code in (200, 404), url
            policy = response["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
            assert "frame-ancestors 'none'" in policy
            html = response.content.decode()
            for pattern, what in INLINE:
                match = pattern.search(html)
                assert match is None, f"{url}: {what}: {html[max(0, match.start() - 80):match.end() + 80]}"
    assert 'value="40"' in client.get(reverse("submissions:detail", args=[entry.pk])).content.decode()


# ---------------------------------------------------------------- JSON API errors

def test_every_api_error_is_json(client, users, challenge, token_for, settings):
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    cases = [
        (client.post(f"/api/challenges/{challenge.slug}/leaderboard"), 405),
        (client.get(f"/api/challenges/{challenge.slug}/submissions", **auth), 405),
        (client.delete("/api/challenges"), 405),
        (client.get("/api/no/such/thing"), 404),
        (client.get(f"/api/challenges/{challenge.slug}/leaderboard?page=9"), 404),
        (client.get(f"/api/challenges/{challenge.slug}/leaderboard?page=x"), 404),
        (client.get("/api/submissions/999999", **auth), 404),
    ]
    settings.MAX_REQUEST_BYTES = 1000
    cases.append((client.post(f"/api/challenges/{challenge.slug}/submissions", b"x" * 2000,
                              content_type="application/json", **auth), 413))
    codes = {405: "method_not_allowed", 404: "not_found", 413: "payload_too_large"}
    for response, status in cases:
        assert response.status_code == status
        assert response["Content-Type"] == "application/json", (status, response.content[:200])
        body = response.json()
        assert body["error"] and body["detail"] == body["error"] and body["code"] == codes[status]
    assert "GET" in cases[0][0]["Allow"] and "Method POST not allowed" in cases[0][0].json()["error"]


def test_api_csrf(users, challenge, zk, token_for):
    """Token-authenticated API calls need no CSRF token (a browser cannot forge the Authorization
    header); a request that does fail the CSRF check under /api/ gets JSON, not the HTML page."""
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("api:create_submission", args=[challenge.slug]), zk.commitment_bytes,
                           content_type="application/json", HTTP_AUTHORIZATION=f"Token {token_for(users.alice)}")
    assert response.status_code == 201
    strict.force_login(users.alice)
    response = strict.post("/api/no-such-endpoint", {"x": "1"})
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
    assert "CSRF" in response.json()["error"] and response.json()["code"] == "csrf_failed"
    page = strict.post(reverse("accounts:tokens"), {"name": "x"})
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_migration_restricts_files_written_before(private_dirs, settings, tmp_path):
    import importlib

    migration = importlib.import_module("migrations.challenges.0003_private_file_modes")
    root = tmp_path / "old-private"
    (root / "testsets").mkdir(parents=True, mode=0o755)
    old = root / "testsets" / "old.npz"
    old.write_bytes(b"x")
    old.chmod(0o644)
    root.chmod(0o755)
    settings.PRIVATE_DIR = root
    migration.restrict_private_dir(None, None)
    assert [p.stat().st_mode & 0o777 for p in (root, root / "testsets", old)] == [0o700, 0o700, 0o600]
