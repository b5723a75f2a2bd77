"""Chaos tests: faults injected into real worker processes mid-job, on the real PostgreSQL and Redis.

Each job must end `verified` with no human action, within a bound the test asserts:
* kill -9 of a worker's main process mid-proof (an OOM kill, a lost host);
* every database connection of the workers terminated mid-proof (`pg_terminate_backend`, what a
  PostgreSQL restart does to them), while the broker hands the same job to a second worker;
* the broker (our own redis-server, without persistence) killed and restarted mid-proof, losing the
  queued message of a second job.

The workers and beat run with short leases (heartbeat 0.5 s, lease 2 s, reaper every 1 s) and the
pure-Python field kernel (ZKML_FRVEC=python: a proof takes ~4 s, so a fault lands mid-proof).
The measured times are printed (`make test PYTEST_ARGS="tests/platform/test_web_chaos.py -s"`) and
recorded in docs/platform.md.
"""
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from submissions import dispatch, services, tasks
from submissions.models import Submission
from test_web_e2e import _database_url, _wait_for, start_worker  # noqa: F401  (start_worker: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEARTBEAT, LEASE, REAPER = 0.5, 2.0, 1.0
RECOVERY_BOUND = 30.0  # seconds from the fault until the job runs again (or goes on) on a live worker
VERIFIED_BOUND = 90.0  # seconds from the fault until every job is verified


@pytest.fixture
def chaos_env(tmp_path):
    """Worker/beat environment: short leases, slow proofs, a database application_name to find the
    workers' connections by."""
    app = f"chaos-{uuid.uuid4().hex[:12]}"
    return {
        "DATABASE_URL": f"{_database_url()}?application_name={app}",
        "PROOFBOARD_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "PROOFBOARD_LEASE_SECONDS": str(LEASE),
        "PROOFBOARD_REAPER_SECONDS": str(REAPER),
        "ZKML_FRVEC": "python",
        "ZKML_THREADS": "1",
        "BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        "APP": app,
    }


def _hosted_entry(users, challenge, zk) -> Submission:
    return services.create_submission(users.bob, challenge, zk.commitment_bytes, proof_mode="hosted",
                                      model_bytes=zk.model_bytes)


def _mid_proof(pk: int, *procs, timeout: float = 60.0) -> Submission:
    """Wait until the entry is being proved, past its first progress reports."""
    deadline = time.monotonic() + timeout
    while True:
        entry = Submission.objects.get(pk=pk)
        if entry.state == "proving" and entry.progress_percent >= 5:
            return entry
        assert entry.state in ("committed", "proving") and time.monotonic() < deadline, (
            entry.state, entry.reason, "".join(p.log for p in procs))
        time.sleep(0.05)


def _holder(entry: Submission, workers) -> object:
    pid = int(entry.claimed_by.split(":")[1])
    return next(w for w in workers if w.proc.pid == pid)


def _wait_until(predicate, timeout: float, *procs):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "".join(p.log for p in procs)
        time.sleep(0.05)


def _results(*procs) -> list[str]:
    """The outcomes of the prove/verify tasks the workers ran ('proved', 'skipped', 'verified', …)."""
    return [line.rsplit(":", 1)[1].strip().strip("'") for p in procs for line in p.lines
            if "succeeded in" in line and ("submissions.prove[" in line or "submissions.verify[" in line)]


def test_worker_killed_mid_proof(start_worker, chaos_env, users, challenge, zk, zk_proof):
    """kill -9 of the worker's main process mid-proof: the lease lapses, the reaper re-queues the job,
    the next worker proves it; the dead attempt's message, whenever redelivered, claims nothing."""
    beat = start_worker(beat=True, **chaos_env)
    first = start_worker(**chaos_env)
    entry = _hosted_entry(users, challenge, zk)
    entry = _mid_proof(entry.pk, first)
    first.kill()
    killed = time.monotonic()
    entry.refresh_from_db()
    assert entry.state == "proving" and entry.attempts == 1 and entry.lease_expires_at is not None, \
        "the fault did not land mid-proof"
    second = start_worker(**chaos_env)
    _wait_until(lambda: Submission.objects.filter(pk=entry.pk, attempts=2, state="proving").exists()
                or Submission.objects.filter(pk=entry.pk, state__in=["proof_received", "verifying", "verified"])
                .exists(), RECOVERY_BOUND, second, beat)
    reclaimed = time.monotonic() - killed
    states = _wait_for([entry.pk], timeout=VERIFIED_BOUND)
    verified = time.monotonic() - killed
    assert states == {entry.pk: "verified"}, (states, second.log, beat.log)
    entry.refresh_from_db()
    assert entry.correct_count == zk_proof.claimed_count and entry.reason == ""
    assert entry.vault_path == "" and not any(Path(settings.VAULT_DIR).iterdir())  # the model left the vault
    assert _results(second) == ["proved", "verified"]  # proved once more, not twice
    assert verified < VERIFIED_BOUND
    print(f"\nchaos kill -9: re-claimed {reclaimed:.1f} s after the kill, verified after {verified:.1f} s")


def test_database_connections_terminated_mid_proof(start_worker, chaos_env, users, challenge, zk, zk_proof):
    """Every connection of the workers is terminated mid-proof (as a PostgreSQL restart does), and the
    broker hands the running job to the second worker: the second worker does not run it, the holder
    renews its lease and writes its progress and result on fresh connections, and the job finishes in
    its first attempt."""
    beat = start_worker(beat=True, **chaos_env)
    workers = [start_worker(**chaos_env), start_worker(**chaos_env)]
    entry = _hosted_entry(users, challenge, zk)
    entry = _mid_proof(entry.pk, *workers)
    holder = _holder(entry, workers)
    idle = next(w for w in workers if w is not holder)
    tasks.prove.apply_async(args=(entry.pk,))  # a redelivery (e.g. restored after a broker reconnect)
    _wait_until(lambda: "skipped" in _results(idle), 20, idle)
    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [chaos_env["APP"]])
            return cursor.fetchone()[0]

    time.sleep(2 * HEARTBEAT)  # the heartbeat thread has connected
    _wait_until(lambda: backends() >= 2, 20, holder)  # the job's connection and its heartbeat's
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                       [chaos_env["APP"]])
        terminated = cursor.fetchone()[0]
    faulted = time.monotonic()
    assert terminated >= 2
    entry.refresh_from_db()
    assert entry.state == "proving", "the fault did not land mid-proof"
    states = _wait_for([entry.pk], timeout=VERIFIED_BOUND)
    verified = time.monotonic() - faulted
    assert states == {entry.pk: "verified"}, (states, holder.log, idle.log, beat.log)
    entry.refresh_from_db()
    assert entry.correct_count == zk_proof.claimed_count
    assert sorted(_results(*workers)) == ["proved", "skipped", "verified"]  # proved once: never re-queued
    assert verified < VERIFIED_BOUND
    print(f"\nchaos pg_terminate_backend ({terminated} connections): verified {verified:.1f} s after the fault, "
          "no attempt lost")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """Our own redis-server (no persistence), on a port of its own: the shared one is never touched."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir = port, workdir
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                             text=True).stdout.strip() != "PONG":
            assert self.proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.fail("the broker chaos test needs redis-server on PATH")
    server = Redis(_free_port(), tmp_path)
    yield server
    server.kill()


def test_broker_restarted_mid_proof(start_worker, chaos_env, own_redis, users, challenge, zk, zk_proof):
    """The broker dies (kill -9, no persistence) and comes back empty while a job is proved and a second
    job's message waits in the queue: the running job finishes, the lost message is re-sent by the
    reaper (once), and both entries end verified."""
    env = {**chaos_env, "CELERY_BROKER_URL": f"redis://127.0.0.1:{own_redis.port}/0"}
    beat = start_worker(beat=True, **env)
    worker = start_worker(**env)
    # Nothing is sent from here: the reaper (beat → worker) sends both messages, in one pass.
    with dispatch.suppressed(), transaction.atomic():
        first, second = _hosted_entry(users, challenge, zk), _hosted_entry(users, challenge, zk)
    pks = [first.pk, second.pk]
    _wait_until(lambda: Submission.objects.filter(pk__in=pks, state="proving", progress_percent__gte=5).exists()
                and Submission.objects.filter(pk__in=pks, state="committed", last_dispatched_at__isnull=False)
                .exists(), 60, worker, beat)
    waiting = Submission.objects.get(pk__in=pks, state="committed")
    own_redis.kill()
    own_redis.start()
    restarted = time.monotonic()
    running = Submission.objects.get(pk__in=pks, state__in=["proving", "proof_received", "verifying"])
    assert running.state == "proving" and Submission.objects.get(pk=waiting.pk).state == "committed", \
        "the fault did not land mid-proof"
    _wait_until(lambda: Submission.objects.filter(pk=waiting.pk).exclude(state="committed").exists(),
                RECOVERY_BOUND, worker, beat)
    resent = time.monotonic() - restarted
    states = _wait_for(pks, timeout=VERIFIED_BOUND)
    verified = time.monotonic() - restarted
    assert states == {first.pk: "verified", second.pk: "verified"}, (states, worker.log, beat.log)
    results = _results(worker)
    assert results.count("proved") == 2 and results.count("verified") == 2, results  # each proved once
    assert verified < VERIFIED_BOUND
    print(f"\nchaos broker restart: lost message re-sent and claimed {resent:.1f} s after the restart, "
          f"both verified after {verified:.1f} s")
