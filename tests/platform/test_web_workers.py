"""Worker services and tasks: verification, hosted proving, idempotency, deadlines, retries."""
import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from submissions import services, tasks
from submissions.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def proved(users, challenge, zk, prove_for):
    """A self-hosted entry whose proof (bound to the entry's context) was just uploaded."""
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    return services.upload_proof(users.alice, entry, prove_for(entry), prove_seconds=1.5)


def test_verify_task_is_idempotent(proved, zk_proof, django_assert_max_num_queries):
    assert proved.state == "proof_received" and proved.claimed_count == zk_proof.claimed_count
    assert tasks.verify.apply(args=(proved.pk,)).get() == "verified"
    proved.refresh_from_db()
    first = (proved.state, proved.correct_count, proved.verified_at, proved.attempts)
    assert proved.state == "verified" and proved.correct_count == zk_proof.claimed_count
    assert proved.total_count == 200 and proved.verification_record["dataset_sha256"] == proved.challenge.test_set_sha256
    assert proved.verify_seconds is not None and proved.progress_percent == 100
    with django_assert_max_num_queries(2):
        assert tasks.verify.apply(args=(proved.pk,)).get() == "skipped"  # the second run changes nothing
    proved.refresh_from_db()
    assert (proved.state, proved.correct_count, proved.verified_at, proved.attempts) == first


def test_platform_failure_recorded_and_retryable(proved):
    test_set = proved.challenge.test_set.path
    original = open(test_set, "rb").read()
    try:
        os.remove(test_set)  # the platform lost its file: not the participant's fault
        assert services.run_verification(proved.pk) == "failed"
        proved.refresh_from_db()
        assert proved.state == "failed" and proved.failed_stage == "verifying"
        assert proved.reason.startswith("verifying error:")
    finally:
        with open(test_set, "wb") as fh:
            fh.write(original)
    assert services.used_today(proved.participant, proved.challenge) == 0  # platform failures don't count
    assert services.retry(proved) is True
    proved.refresh_from_db()
    assert proved.state == "proof_received"
    assert services.run_verification(proved.pk) == "verified"


def test_expire_stuck_jobs(users, challenge):
    past = timezone.now() - timedelta(seconds=1)
    stuck_p = Submission.objects.create(challenge=challenge, participant=users.alice, state="proving", deadline_at=past)
    stuck_v = Submission.objects.create(challenge=challenge, participant=users.alice, state="verifying",
                                        deadline_at=past)
    fresh = Submission.objects.create(challenge=challenge, participant=users.alice, state="verifying",
                                      deadline_at=timezone.now() + timedelta(hours=1))
    assert tasks.expire_stuck_jobs.apply().get() == 2
    assert tasks.expire_stuck_jobs.apply().get() == 0  # idempotent
    for entry, stage in ((stuck_p, "proving"), (stuck_v, "verifying")):
        entry.refresh_from_db()
        assert (entry.state, entry.failed_stage, entry.reason) == ("failed", stage, "timed out")
    fresh.refresh_from_db()
    assert fresh.state == "verifying"


def test_killed_worker_leaves_a_retryable_state(proved):
    # A worker claimed the job, then died (SIGKILL) before finishing: the row stays 'verifying'.
    assert services._claim(proved.pk, services.Q(state="proof_received"), "verifying", 60)
    proved.refresh_from_db()
    assert proved.state == "verifying" and proved.deadline_at is not None
    # acks_late + reject_on_worker_lost redeliver the message; before the deadline it is not run twice.
    assert services.run_verification(proved.pk) == "skipped"
    # Past the deadline, the redelivered message may re-claim the job and finish it …
    Submission.objects.filter(pk=proved.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert services.run_verification(proved.pk) == "verified"
    proved.refresh_from_db()
    assert proved.state == "verified" and proved.attempts == 2


def test_killed_worker_without_redelivery_expires_then_retries(proved):
    services._claim(proved.pk, services.Q(state="proof_received"), "verifying", 60)
    Submission.objects.filter(pk=proved.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert services.expire_stuck_jobs() == 1
    proved.refresh_from_db()
    assert proved.state == "failed" and proved.reason == "timed out" and proved.failed_stage == "verifying"
    assert services.retry(proved)
    assert tasks.verify.apply(args=(proved.pk,)).get() == "verified"


def test_task_options():
    for task in (tasks.prove, tasks.verify):
        assert task.acks_late and task.reject_on_worker_lost
    routes = settings.CELERY_TASK_ROUTES
    assert routes["submissions.prove"]["queue"] == "prove" and routes["submissions.verify"]["queue"] == "verify"
    assert "expire-stuck-jobs" in settings.CELERY_BEAT_SCHEDULE


def test_hosted_proving_task(users, challenge, zk, zk_proof):
    entry = services.create_submission(users.bob, challenge, zk.commitment_bytes, proof_mode="hosted",
                                       model_bytes=zk.model_bytes)
    vault_file = settings.VAULT_DIR / entry.vault_path
    assert vault_file.exists()
    assert tasks.prove.apply(args=(entry.pk,)).get() == "proved"
    entry.refresh_from_db()
    assert entry.state == "proof_received" and entry.proof_size > 0 and entry.prove_seconds > 0
    assert not vault_file.exists() and entry.vault_path == ""  # deleted after proving
    assert tasks.prove.apply(args=(entry.pk,)).get() == "skipped"  # idempotent
    assert services.run_verification(entry.pk) == "verified"
    entry.refresh_from_db()
    assert entry.correct_count == zk_proof.claimed_count


def test_hosted_proving_waits_for_reveal(users, make_challenge, zk):
    hidden = make_challenge("hidden", revealed=False)
    entry = services.create_submission(users.bob, hidden, zk.commitment_bytes, proof_mode="hosted",
                                       model_bytes=zk.model_bytes)
    assert services.run_hosted_proving(entry.pk) == "skipped"
    entry.refresh_from_db()
    assert entry.state == "committed" and (settings.VAULT_DIR / entry.vault_path).exists()
    services.delete_vault_file(entry.vault_path)


def test_start_due_proving_queues_revealed_hosted_entries(users, make_challenge, zk, django_capture_on_commit_callbacks):
    hidden = make_challenge("hidden", revealed=False)
    with django_capture_on_commit_callbacks() as callbacks:
        entry = services.create_submission(users.bob, hidden, zk.commitment_bytes, proof_mode="hosted",
                                           model_bytes=zk.model_bytes)
    assert callbacks == []  # not revealed yet: nothing to prove
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.start_due_proving() == 0
    hidden.reveal_at = timezone.now() - timedelta(seconds=1)
    hidden.save()
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.start_due_proving() == 1
    assert len(callbacks) == 1
    services.delete_vault_file(entry.vault_path)


def test_prove_task_never_touches_a_self_hosted_entry(users, challenge, zk):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    services.report_progress(users.alice, entry, "sumcheck", 10)
    Submission.objects.filter(pk=entry.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert services.run_hosted_proving(entry.pk) == "skipped"
    entry.refresh_from_db()
    assert entry.state == "proving" and entry.progress_stage == "sumcheck"


def test_redelivered_message_of_a_killed_worker_reclaims_at_once(proved):
    """reject_on_worker_lost redelivers the same message (same task id): it re-claims the job it
    held without waiting for the deadline; another attempt still finds the job held."""
    assert services._claim(proved.pk, services.Q(state="proof_received"), "verifying", 60, task_id="task-1")
    proved.refresh_from_db()
    assert proved.claimed_by == "task-1" and proved.deadline_at > timezone.now()
    assert services.run_verification(proved.pk, task_id="task-2") == "skipped"  # a different attempt
    assert services.run_verification(proved.pk, task_id="task-1") == "verified"  # the redelivery
    proved.refresh_from_db()
    assert proved.state == "verified" and proved.attempts == 2
    assert services.run_verification(proved.pk, task_id="task-1") == "skipped"  # still idempotent


def test_task_held_by_another_attempt_is_retried_not_dropped(proved, monkeypatch):
    from types import SimpleNamespace

    from celery.exceptions import Retry

    assert services._claim(proved.pk, services.Q(state="proof_received"), "verifying", 120, task_id="task-1")
    calls = []

    def retry(countdown, max_retries=None):
        calls.append(countdown)
        return Retry("later", when=countdown)

    fake = SimpleNamespace(request=SimpleNamespace(id="task-2", is_eager=False), retry=retry)
    with pytest.raises(Retry):
        tasks._run(fake, services.run_verification, proved.pk, "verifying")
    assert len(calls) == 1 and 100 < calls[0] <= 122  # until the holder's deadline, at most 300 s
    Submission.objects.filter(pk=proved.pk).update(deadline_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(Retry):
        tasks._run(fake, services.run_verification, proved.pk, "verifying")
    assert calls[-1] == tasks.MAX_WAIT
    # once the holder's deadline has passed, the retried message re-claims and finishes the job
    Submission.objects.filter(pk=proved.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert tasks._run(fake, services.run_verification, proved.pk, "verifying") == "verified"
    # and a message for a finished job is simply dropped
    assert tasks._run(fake, services.run_verification, proved.pk, "verifying") == "skipped"
    assert len(calls) == 2
