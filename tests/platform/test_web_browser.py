"""The participant's and the host's paths in a real browser (Playwright, Debian's Chromium; see
browsers.py), against a live server on PostgreSQL.

The participant signs up, creates a token, commits on the Submit page, proves with the installed
`proofboard-prover` from a folder outside the checkout while the entry page's live status is
watched (a real Celery worker verifies through the Redis broker), then, logged out, finds the
entry on the leaderboard, downloads its bundle and re-verifies it with the installed `zkml` as
the bundle's README says. The host creates a commit-before-reveal challenge in the Django admin;
the public page then shows only the test set's digest.
"""
import hashlib
import os
import re
import shlex
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from browsers import require_chromium
from challenges.models import Challenge
from test_web_e2e import start_worker  # noqa: F401  (a fixture: real worker processes)


BIN = Path(sys.executable).parent  # the venv's console scripts (`make install`)
VERIFY_TIMEOUT_MS = 120_000  # proving (seconds for this model) plus the worker's verification
# Each status change the entry page shows, kept in sessionStorage so it survives the page's own
# reload on a final state: proof that the page updated itself, not a reload by the test.
RECORD_STATES = """
document.addEventListener("DOMContentLoaded", () => {
  const state = document.getElementById("state");
  if (!state) return;
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem("states-seen") || "[]");
    seen.push(state.textContent.trim());
    sessionStorage.setItem("states-seen", JSON.stringify(seen));
  }).observe(state, {childList: true, characterData: true, subtree: true});
});
"""


def _installed(script: str) -> str:
    path = BIN / script
    assert path.exists(), f"{path} is missing: `make install` installs the console scripts into the venv"
    return str(path)


def _participant_env() -> dict:
    """The environment of a participant's shell: the venv's scripts first on PATH, no repository on
    the import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _readme_commands(readme: str) -> list[str]:
    """The commands a bundle's README tells the reader to run: its lines indented by four spaces."""
    return [line.strip() for line in readme.splitlines() if line.startswith("    ") and line.strip()]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_participant_signs_up_commits_proves_and_anyone_reverifies(
        start_worker, live_server, chromium, make_challenge, zk, tmp_path):  # noqa: F811
    challenge = make_challenge(slug="digits", revealed=False)  # commitments before the reveal are on time
    start_worker()  # verifies the uploaded proof: the verify queue on the Redis broker
    home = tmp_path / "participant"  # the participant's folder, outside the checkout
    home.mkdir()
    (home / "MODEL.zkm").write_bytes(zk.model_bytes)
    (home / "COMMIT.json").write_bytes(zk.commitment_bytes)  # `zkml commit MODEL.zkm` wrote both

    page = chromium.new_page(base_url=live_server.url)
    page.context.add_init_script(RECORD_STATES)
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password:", exact=True).fill("a-long-passphrase-41")
    page.get_by_label("Password confirmation").fill("a-long-passphrase-41")
    page.get_by_role("button", name="Create account").click()
    page.get_by_text("Welcome, carol!").wait_for()

    page.goto("/accounts/tokens/")
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert len(token) >= 20, token

    page.goto(challenge.get_absolute_url())
    page.get_by_role("link", name="Submit a commitment").click()
    page.get_by_label("Commitment").set_input_files(home / "COMMIT.json")
    page.get_by_label("Label").fill("browser-mlp")
    page.get_by_label("self-hosted").check()
    page.get_by_role("button", name="Commit", exact=True).click()
    page.wait_for_url(re.compile(r"/submissions/\d+/$"))
    entry_id = int(re.search(r"/submissions/(\d+)/$", page.url).group(1))
    assert page.locator("#state").inner_text() == "committed"

    # Time passes: the reveal. The entry page keeps polling while the prover runs on "her machine".
    Challenge.objects.filter(pk=challenge.pk).update(reveal_at=timezone.now())
    prover = subprocess.Popen(
        [_installed("proofboard-prover"), "run", "--platform", live_server.url, "--token", token,
         "--model", "MODEL.zkm", "--submission", str(entry_id), "--wait", "90"],
        cwd=home, env=_participant_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        page.locator("#state").filter(has_text="verified").wait_for(timeout=VERIFY_TIMEOUT_MS)
    except Exception:
        prover.kill()
        print("proofboard-prover said:\n" + prover.communicate()[0])  # in the failure's report
        raise
    output, _ = prover.communicate(timeout=90)
    assert prover.returncode == 0, output
    assert re.search(r"verified: \d+/200 correct", output), output
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('states-seen') || '[]')")
    assert "verified" in seen, seen  # shown by the page's live update, before any reload
    count_on_entry = page.locator("#count").inner_text()

    # Anyone, logged out: the leaderboard ranks the entry; its bundle re-verifies offline.
    public = chromium.new_page(base_url=live_server.url)
    public.goto(challenge.get_absolute_url())
    row = public.locator("table.board").first.locator("tbody tr", has_text="carol")
    assert "browser-mlp" in row.inner_text() and "self-hosted" in row.inner_text()
    board_count = row.locator("td.num").nth(1).inner_text()  # the Correct column
    assert re.fullmatch(r"\d+/200", board_count), board_count
    assert board_count == count_on_entry, (board_count, count_on_entry)
    folder = tmp_path / "bundle"
    with public.expect_download() as bundle:
        row.get_by_role("link", name="bundle").click()
    bundle.value.save_as(tmp_path / "bundle.zip")
    with zipfile.ZipFile(tmp_path / "bundle.zip") as zf:
        zf.extractall(folder)
    dataset_name = (folder / "dataset-sha256.txt").read_text().split()[1]
    with public.expect_download() as test_set:
        public.get_by_role("link", name="Download test set (.npz)").click()
    assert test_set.value.suggested_filename == dataset_name
    test_set.value.save_as(folder / dataset_name)

    commands = [c for c in _readme_commands((folder / "README.txt").read_text()) if c != "pip install ."]
    assert [c.split()[:2] for c in commands] == [["sha256sum", "-c"], ["zkml", "verify"]], commands
    results = [subprocess.run(shlex.split(c), cwd=folder, env=_participant_env(), capture_output=True, text=True,
                              timeout=120) for c in commands]
    assert [r.returncode for r in results] == [0, 0], [r.stdout + r.stderr for r in results]
    printed = re.search(r"verified: (\d+/\d+) correct", results[1].stdout)
    assert printed and printed.group(1) == board_count, results[1].stdout


@pytest.mark.django_db(transaction=True)
def test_host_creates_a_commit_before_reveal_challenge_in_the_admin(live_server, chromium, users, test_set_bytes,
                                                                    tmp_path):
    test_set = tmp_path / "secret-digits.npz"
    test_set.write_bytes(test_set_bytes)
    now = timezone.now()
    when = {name: (now + delta).strftime("%Y-%m-%dT%H:%M") for name, delta in (
        ("Opens at", timedelta(hours=-1)), ("Reveal at", timedelta(days=2)),
        ("Proving deadline", timedelta(days=9)))}

    admin = chromium.new_page(base_url=live_server.url)
    admin.goto("/admin/")
    admin.get_by_label("Username").fill("host")
    admin.get_by_label("Password").fill("pw-host-123")
    admin.get_by_role("button", name="Log in").click()
    admin.goto("/admin/challenges/challenge/add/")
    admin.get_by_label("Title").press_sequentially("Sealed digits")  # typed: the slug script listens to keys
    slug = admin.get_by_label("Slug")
    assert slug.input_value() == "sealed-digits"  # prefilled from the title by the admin's script
    admin.get_by_label("Description").fill("Commit **before** the reveal.")
    admin.get_by_label("N classes").fill("10")
    admin.get_by_label("Input shape").fill("64")
    admin.get_by_label("Test set").set_input_files(test_set)
    for label, value in when.items():
        admin.get_by_label(label).fill(value)
    admin.get_by_role("button", name="Save", exact=True).click()
    admin.get_by_text("was added successfully").wait_for()
    challenge = Challenge.objects.get(slug="sealed-digits")
    assert not challenge.is_revealed() and challenge.test_set_size == 200

    visitor = chromium.new_page(base_url=live_server.url)
    visitor.goto("/challenges/sealed-digits/")
    digest = hashlib.sha256(test_set_bytes).hexdigest()
    assert visitor.locator("dt:text-is('SHA-256') + dd").inner_text() == digest
    visitor.get_by_text("only the digest is public").wait_for()
    test_set_url = "/challenges/sealed-digits/test-set.npz"
    assert visitor.locator(f"a[href$='{test_set_url}']").count() == 0
    assert visitor.get_by_role("link", name=re.compile("test set", re.I)).count() == 0
    response = visitor.goto(test_set_url)
    assert response.status == 403
    visitor.get_by_text("not revealed yet").wait_for()


def test_a_failing_browser_test_saves_a_screenshot_and_names_it(tmp_path):
    """browsers.py's hook, run by a pytest of its own on a browser test that fails."""
    require_chromium()
    (tmp_path / "test_fails.py").write_text(
        "def test_page(chromium):\n"
        "    page = chromium.new_page()\n"
        "    page.set_content('<h1>the page at the failure</h1>')\n"
        "    assert page.inner_text('h1') == 'something else'\n")
    shots = tmp_path / "shots"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), "PROOFBOARD_SCREENSHOT_DIR": str(shots)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "browsers", "-p", "no:django", "-p", "no:cacheprovider",
                          "test_fails.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr  # the test failed, nothing else went wrong
    saved = shots / "test_page-1.png"
    assert saved.read_bytes().startswith(b"\x89PNG"), run.stdout
    assert "browser screenshots" in run.stdout and str(saved) in run.stdout, run.stdout
