"""Job leases, heartbeats, the reaper, lost broker messages, the daily limit and the vault sweep
(submissions/jobs.py), on the real PostgreSQL and Redis. The fault-injection tests with real worker
processes are in test_web_chaos.py."""
import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test.utils import override_settings
from django.utils import timezone

from submissions import dispatch, jobs, services
from submissions.models import Submission

pytestmark = pytest.mark.django_db


def _lapse(entry) -> None:
    Submission.objects.filter(pk=entry.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def proved(users, challenge, zk, prove_for):
    """A self-hosted entry whose proof was just uploaded (state proof_received)."""
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    return services.upload_proof(users.alice, entry, prove_for(entry), prove_seconds=1.5)


@pytest.fixture
def hosted(users, challenge, zk2):
    """Bob's hosted entry (model in the vault), committed after the reveal."""
    entry = services.create_submission(users.bob, challenge, zk2.commitment_bytes, proof_mode="hosted",
                                       model_bytes=zk2.model_bytes)
    yield entry
    services.delete_vault_file(entry.vault_path)


@pytest.fixture
def broker():
    """The real Redis broker of the test run, with the prove/verify queues emptied before and after."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def clear():
        for key in client.scan_iter():
            if key.startswith((b"prove", b"verify", b"unacked", b"_kombu")):
                client.delete(key)

    clear()
    yield client
    clear()


def test_claim_is_exclusive_and_sets_a_lease(proved):
    lease = jobs.claim(proved.pk, "verifying", 60)
    assert lease is not None and jobs.claim(proved.pk, "verifying", 60) is None  # one holder at a time
    proved.refresh_from_db()
    assert proved.claimed_by == lease.token and proved.attempts == 1
    assert 0 < (proved.lease_expires_at - timezone.now()).total_seconds() <= settings.JOB_LEASE_SECONDS
    assert proved.deadline_at > proved.lease_expires_at


def test_progress_renews_the_lease_and_a_lost_attempt_stops_writing_nothing(proved):
    lease = jobs.claim(proved.pk, "verifying", 60)
    _lapse(proved)
    report = lease.progress()
    report("relations", 0.5)  # a progress report is a heartbeat
    proved.refresh_from_db()
    assert proved.lease_expires_at > timezone.now() and proved.progress_stage == "relations"
    # The worker stalls past its lease: the reaper re-queues the job and another attempt claims it.
    _lapse(proved)
    assert jobs.reap()["requeued"] == 1
    second = jobs.claim(proved.pk, "verifying", 60)
    assert second is not None
    with pytest.raises(jobs.LeaseLost):  # the stale attempt stops at its next report …
        report("matmul", 0.8)
    assert not lease.finish(state="verified", correct_count=1)  # … and can write no result
    proved.refresh_from_db()
    assert (proved.state, proved.claimed_by, proved.correct_count, proved.attempts) == (
        "verifying", second.token, None, 2)


def test_attempts_are_capped_then_failed_with_a_reason(proved):
    for attempt in range(1, settings.JOB_MAX_ATTEMPTS + 1):
        assert jobs.claim(proved.pk, "verifying", 60) is not None
        _lapse(proved)
        outcome = jobs.reap()
        proved.refresh_from_db()
        if attempt < settings.JOB_MAX_ATTEMPTS:
            assert outcome["requeued"] == 1 and proved.state == "proof_received"
            assert proved.reason == f"attempt {attempt} re-queued (the worker stopped renewing its lease: worker lost)"
    assert outcome["failed"] == 1
    assert (proved.state, proved.failed_stage) == ("failed", "verifying")
    assert proved.reason == (f"verifying gave up after {settings.JOB_MAX_ATTEMPTS} attempts "
                             "(the worker stopped renewing its lease: worker lost)")
    assert proved.lease_expires_at is None and proved.claimed_by == ""
    assert services.used_today(proved.participant, proved.challenge) == 0  # the platform's fault
    assert services.retry(proved)  # staff re-run: a fresh attempt count
    proved.refresh_from_db()
    assert (proved.state, proved.attempts) == ("proof_received", 0)
    assert services.run_verification(proved.pk) == "verified"


def test_past_the_hard_deadline_is_timed_out(proved):
    jobs.claim(proved.pk, "verifying", 60)
    Submission.objects.filter(pk=proved.pk).update(deadline_at=timezone.now() - timedelta(seconds=1),
                                                   attempts=settings.JOB_MAX_ATTEMPTS)
    assert jobs.reap()["failed"] == 1
    proved.refresh_from_db()
    assert (proved.state, proved.failed_stage, proved.reason) == ("failed", "verifying", "timed out")


def test_self_hosted_prover_silent_past_its_deadline_fails_and_counts(users, challenge, zk):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    services.report_progress(users.alice, entry, "sumcheck", 10)
    assert jobs.reap() == {"requeued": 0, "failed": 0, "timed_out": 0, "dispatched": 0}  # not a platform job
    Submission.objects.filter(pk=entry.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert jobs.reap()["timed_out"] == 1
    entry.refresh_from_db()
    assert (entry.state, entry.failed_stage, entry.reason) == ("failed", "proving", "timed out")
    assert services.used_today(users.alice, challenge) == 1  # the participant's own prover: it counts


def test_a_job_stuck_past_its_lease_does_not_count_towards_the_daily_limit(proved):
    assert services.used_today(proved.participant, proved.challenge) == 1
    jobs.claim(proved.pk, "verifying", 60)
    assert services.used_today(proved.participant, proved.challenge) == 1  # in flight, alive
    _lapse(proved)
    assert services.used_today(proved.participant, proved.challenge) == 0  # stuck on the platform's side


def test_a_database_error_mid_job_requeues_it_instead_of_failing_it(proved, monkeypatch):
    import zkml
    from django.db import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(zkml, "verify", broken)
    assert services.run_verification(proved.pk) == "retry"
    proved.refresh_from_db()
    assert proved.state == "proof_received" and "re-queued" in proved.reason and proved.attempts == 1
    monkeypatch.undo()
    assert services.run_verification(proved.pk) == "verified"


@pytest.mark.django_db(transaction=True)
def test_writes_survive_a_terminated_database_connection(proved):
    """pg_terminate_backend on the worker's connection (as a PostgreSQL restart does): the next
    heartbeat, progress report and result are written on a fresh connection."""
    lease = jobs.claim(proved.pk, "verifying", 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    assert lease.renew(progress_stage="after the restart")
    proved.refresh_from_db()
    assert proved.progress_stage == "after the restart"


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_renews_the_lease_without_progress(proved):
    with override_settings(JOB_HEARTBEAT_SECONDS=0.1, JOB_LEASE_SECONDS=0.5):
        lease = jobs.claim(proved.pk, "verifying", 60)
        with lease:
            time.sleep(1.2)  # a long step without any progress report
            proved.refresh_from_db()
            assert proved.lease_expires_at > timezone.now()
            assert jobs.reap()["requeued"] == 0
        time.sleep(0.7)  # the attempt is over (its worker died): the lease lapses
        assert jobs.reap()["requeued"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_reaper_resends_only_missing_messages(broker, proved, hosted):
    """The verify and prove messages are queued (no worker is running): however often the reaper runs,
    it sends no second one. The broker loses one (restart without persistence): the next pass re-sends
    it, once."""
    assert broker.llen("verify") == 1 and broker.llen("prove") == 1  # upload_proof, create_submission sent them
    assert dispatch.queued_ids() == {"verify": {proved.pk}, "prove": {hosted.pk}}
    Submission.objects.update(last_dispatched_at=timezone.now() - timedelta(hours=1))
    for _ in range(3):
        assert jobs.reap()["dispatched"] == 0
    assert broker.llen("verify") == 1 and broker.llen("prove") == 1
    broker.delete("verify")  # lost
    assert jobs.reap()["dispatched"] == 1
    assert jobs.reap()["dispatched"] == 0  # sent less than a lease ago
    Submission.objects.filter(pk=proved.pk).update(last_dispatched_at=timezone.now() - timedelta(hours=1))
    assert jobs.reap()["dispatched"] == 0  # and still queued
    assert broker.llen("verify") == 1 and dispatch.queued_ids()["verify"] == {proved.pk}


def _vault_file(name: str, age: float = 0.0):
    path = settings.VAULT_DIR / name
    path.write_bytes(b"model")
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_the_vault_keeps_a_model_only_while_its_entry_needs_it(users, challenge, hosted):
    path = settings.VAULT_DIR / hosted.vault_path
    assert jobs.sweep_vault() == 0 and path.exists()  # waiting to be proved
    Submission.objects.filter(pk=hosted.pk).update(state="failed", failed_stage="proving")
    assert jobs.sweep_vault() == 0 and path.exists()  # kept for a staff re-run …
    Submission.objects.filter(pk=hosted.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.FAILED_MODEL_RETENTION + 1))
    assert jobs.sweep_vault() == 1 and not path.exists()  # … for FAILED_MODEL_RETENTION
    hosted.refresh_from_db()
    assert hosted.vault_path == ""
    assert not services.retry(hosted)  # the model is gone: it cannot be proved again
    for state in ("proof_received", "verifying", "verified", "rejected"):
        entry = Submission.objects.create(challenge=challenge, participant=users.bob, proof_mode="hosted",
                                          state=state, vault_path=f"{state}.zkm")
        _vault_file(entry.vault_path)
    young, old = _vault_file("young-orphan.zkm"), _vault_file("old-orphan.zkm", age=7200)
    assert jobs.sweep_vault() == 5
    assert sorted(p.name for p in settings.VAULT_DIR.iterdir()) == [young.name]  # may belong to an upload in flight
    assert not Submission.objects.exclude(vault_path="").exists()
