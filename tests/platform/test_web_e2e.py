"""End to end: a real Celery worker process, the Redis broker, PostgreSQL and HTTP.

Alice commits over the REST API and proves on "her machine" with `python -m prover_worker run`
(self-hosted); Bob uses hosted proving. The worker (queues prove and verify) proves Bob's
model and verifies both proofs; the ranked rows are then read back from the leaderboard page.
The fault-injection tests (a worker killed mid-proof, its database connections terminated, the
broker restarted) are in test_web_chaos.py and reuse `Worker` from here.
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from challenges.models import Challenge
from submissions import tasks
from submissions.models import Submission

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A real `celery worker -Q prove,verify --pool solo` subprocess on the test database and broker
    (or, with `beat=True`, a real `celery beat`)."""

    def __init__(self, env: dict, beat: bool = False):
        if beat:
            cmd = [sys.executable, "-m", "celery", "-A", "prover_worker.celery_app", "beat", "--loglevel", "DEBUG",
                   "--schedule", env["BEAT_SCHEDULE_FILE"]]
            ready = "beat: Starting"
        else:
            cmd = [sys.executable, "-m", "celery", "-A", "prover_worker.celery_app", "worker", "-Q", "prove,verify",
                   "--pool", "solo", "--loglevel", "INFO", "-n", f"e2e-{os.getpid()}-{time.monotonic_ns()}@%h",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
            ready = "platform-check"
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: [self.lines.append(line) for line in self.proc.stdout], daemon=True).start()
        deadline = time.monotonic() + 60
        while not any(ready in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("worker did not start:\n" + self.log)
            time.sleep(0.1)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as on an OOM kill or a lost machine."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(private_dirs):
    """Start real worker processes (stopped at the end of the test)."""
    if connection.vendor != "postgresql" or settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("the e2e test needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… (see `make test`)")
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in broker.scan_iter():  # no stale messages from earlier runs (only kombu's keys)
        if key.startswith((b"prove", b"verify", b"unacked", b"_kombu")):
            broker.delete(key)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PROOFBOARD_PRIVATE_DIR": str(private_dirs.private_dir),
        "PROOFBOARD_VAULT_DIR": str(private_dirs.vault_dir),
        "MEDIA_ROOT": str(private_dirs.media_root),
        "PYTHONUNBUFFERED": "1",
    }
    workers: list[Worker] = []

    def start(beat: bool = False, **extra_env: str) -> Worker:
        """A worker (or beat) process; `extra_env` overrides its environment (e.g. short leases)."""
        workers.append(Worker({**env, **extra_env}, beat=beat))
        return workers[-1]

    yield start
    for w in workers:
        w.stop()
    connection.close()


@pytest.fixture
def worker(start_worker):
    return start_worker().lines


def _wait_for(pks, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = dict(Submission.objects.filter(pk__in=pks).values_list("pk", "state"))
        if all(states.get(pk) in ("verified", "rejected", "failed") for pk in pks):
            return states
        time.sleep(0.25)
    return dict(Submission.objects.filter(pk__in=pks).values_list("pk", "state", "reason"))


def test_end_to_end_with_a_real_worker(worker, live_server, users, make_challenge, zk, zk2, zk_proof, token_for,
                                       client, tmp_path):
    challenge = make_challenge(revealed=False)  # commit before the reveal: entries are on time
    # The worker process still sees the standard library's `platform` module.
    import platform
    import sysconfig

    check = next(line for line in worker if "platform-check" in line)
    assert f"system={platform.system()}" in check
    assert f"module={sysconfig.get_paths()['stdlib']}/platform.py" in check

    # Alice: commit over HTTP with the participant CLI, then prove locally and upload.
    token = token_for(users.alice)
    commit_file = tmp_path / "COMMIT.json"
    commit_file.write_bytes(zk.commitment_bytes)
    cli = [sys.executable, "-m", "prover_worker"]
    common = ["--platform", live_server.url, "--token", token]
    out = subprocess.run(cli + ["submit", *common, "--challenge", challenge.slug, "--commitment", str(commit_file)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    alice_entry = Submission.objects.get(participant=users.alice)
    assert alice_entry.proof_mode == "self_hosted" and alice_entry.state == "committed"

    # Bob: hosted proving (the model goes to the vault, the prove queue proves it). His own
    # commitment: Alice's is hers alone.
    client.force_login(users.bob)
    response = client.post(f"/challenges/{challenge.slug}/submit/", {
        "commitment": SimpleUploadedFile("COMMIT.json", zk2.commitment_bytes), "proof_mode": "hosted",
        "model": SimpleUploadedFile("MODEL.zkm", zk2.model_bytes), "label": "hosted"})
    assert response.status_code == 302
    bob_entry = Submission.objects.get(participant=users.bob)
    assert not alice_entry.late and not bob_entry.late

    # The reveal: the test set is published; beat's reaper queues Bob's hosted job.
    Challenge.objects.filter(pk=challenge.pk).update(reveal_at=timezone.now())
    tasks.reap_jobs.delay()

    out = subprocess.run(cli + ["run", *common, "--model", str(zk.model_path), "--submission", str(alice_entry.pk),
                                "--wait", "90"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr + "".join(worker)
    assert "verified:" in out.stdout and "%]" in out.stdout, out.stdout  # progress was printed

    states = _wait_for([alice_entry.pk, bob_entry.pk])
    assert states == {alice_entry.pk: "verified", bob_entry.pk: "verified"}, (states, "".join(worker))
    bob_entry.refresh_from_db()
    assert bob_entry.vault_path == "" and not any(private_dirs_files(bob_entry))

    # The public leaderboard page (over HTTP) ranks both; Alice committed first so she ranks first on a tie.
    with urllib.request.urlopen(f"{live_server.url}/challenges/{challenge.slug}/") as resp:
        page = resp.read().decode()
    count = zk_proof.claimed_count
    accuracy = f"{100 * count / 200:.2f}%"
    board = page.split("<h2>Leaderboard</h2>")[1].split("</table>")[0]
    assert board.index("alice") < board.index("bob")
    assert accuracy in board and f"{count}/200" in board
    assert "self-hosted" in board and "hosted" in board
    with urllib.request.urlopen(f"{live_server.url}/api/challenges/{challenge.slug}/leaderboard") as resp:
        ranking = json.loads(resp.read())["ranking"]
    assert [(r["rank"], r["participant"], r["proof_mode"]) for r in ranking] == [
        (1, "alice", "self_hosted"), (2, "bob", "hosted")]
    assert ranking[0]["correct_count"] == count and ranking[0]["accuracy"] == round(100 * count / 200, 2)


def private_dirs_files(entry):
    return [p for p in Path(settings.VAULT_DIR).iterdir() if p.name.startswith(f"{entry.pk}-")]
