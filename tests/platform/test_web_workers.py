"""Worker services and tasks: verification, hosted proving, idempotency, deadlines, retries."""
import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from submissions import jobs, services, tasks
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


def test_message_for_a_held_job_never_runs_it(proved):
    """A worker claimed the job and died (SIGKILL) before finishing: the row stays 'verifying' under its
    lease. Whatever the broker redelivers meanwhile claims nothing; once the lease lapses the reaper
    puts the job back in its queue and the next message finishes it."""
    lease = jobs.claim(proved.pk, "verifying", 60)
    assert lease is not None
    proved.refresh_from_db()
    assert proved.state == "verifying" and proved.lease_expires_at > timezone.now() and proved.attempts == 1
    assert services.run_verification(proved.pk) == "skipped"  # the redelivery: the lease is alive
    assert jobs.reap()["requeued"] == 0
    Submission.objects.filter(pk=proved.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert jobs.reap()["requeued"] == 1
    proved.refresh_from_db()
    assert proved.state == "proof_received" and proved.claimed_by == "" and "re-queued" in proved.reason
    assert services.run_verification(proved.pk) == "verified"
    proved.refresh_from_db()
    assert proved.state == "verified" and proved.attempts == 2
    assert not lease.finish(state="failed")  # the dead attempt can no longer write anything


def test_task_options():
    for task in (tasks.prove, tasks.verify):
        assert task.acks_late and task.reject_on_worker_lost
    routes = settings.CELERY_TASK_ROUTES
    assert routes["submissions.prove"]["queue"] == "prove" and routes["submissions.verify"]["queue"] == "verify"
    assert routes["submissions.sweep_vault"]["queue"] == "prove"  # the vault is readable by prove workers only
    assert {"reap-jobs", "sweep-vault"} <= set(settings.CELERY_BEAT_SCHEDULE)


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


def test_hosted_proving_in_shards_when_configured(users, challenge, zk, zk_proof, settings):
    """PROOFBOARD_SHARD_SIZE below the test set's size: the worker proves in shards (its memory is
    one shard's); the sharded proof verifies with the same count."""
    import zkml

    settings.PROVING_SHARD_SIZE = 64
    entry = services.create_submission(users.bob, challenge, zk.commitment_bytes, proof_mode="hosted",
                                       model_bytes=zk.model_bytes)
    assert tasks.prove.apply(args=(entry.pk,)).get() == "proved"
    entry.refresh_from_db()
    proof = zkml.read_proof(bytes(entry.proof))
    assert isinstance(proof, zkml.ShardedProof) and len(proof.shards) == -(-proof.n_samples // 64)
    assert services.run_verification(entry.pk) == "verified"
    entry.refresh_from_db()
    assert entry.correct_count == zk_proof.claimed_count


def test_hosted_proving_fits_the_memory_allowed(users, challenge, zk, zk_proof, settings):
    """No shard size set: the worker chooses shards so that the estimated peak memory fits
    PROOFBOARD_PROVER_MEMORY (zkml/memory.py). A budget that the whole test set exceeds but a
    half fits gives a sharded proof that verifies with the same count."""
    import zkml
    from zkml.memory import estimated_peak_bytes

    arch = zkml.Commitment.from_bytes(zk.commitment_bytes).architecture
    n = len(zkml.load_dataset(str(zk_proof.dataset_path)))
    half = 1 << ((n - 1).bit_length() - 1)
    settings.PROVING_SHARD_SIZE = 0
    settings.PROVING_MEMORY_BYTES = estimated_peak_bytes(arch, n, half)
    assert estimated_peak_bytes(arch, n) > settings.PROVING_MEMORY_BYTES
    entry = services.create_submission(users.bob, challenge, zk.commitment_bytes, proof_mode="hosted",
                                       model_bytes=zk.model_bytes)
    assert tasks.prove.apply(args=(entry.pk,)).get() == "proved"
    entry.refresh_from_db()
    proof = zkml.read_proof(bytes(entry.proof))
    assert isinstance(proof, zkml.ShardedProof) and [s.stop - s.start for s in proof.shards][0] == half
    assert services.run_verification(entry.pk) == "verified"
    entry.refresh_from_db()
    assert entry.correct_count == zk_proof.claimed_count


def test_a_retried_proving_attempt_plans_for_half_the_memory(users, challenge, zk, zk_proof, settings):
    """A worker that died mid-proof may have been killed for lack of memory: the next attempt
    plans for half the budget (worker.proving_memory), so a proof that fitted whole on the
    first attempt is made in shards on the second, and verifies with the same count."""
    import zkml
    from submissions.worker import proving_memory
    from zkml.memory import estimated_peak_bytes

    arch = zkml.Commitment.from_bytes(zk.commitment_bytes).architecture
    n = len(zkml.load_dataset(str(zk_proof.dataset_path)))
    half = 1 << ((n - 1).bit_length() - 1)
    settings.PROVING_SHARD_SIZE = 0
    settings.PROVING_MEMORY_BYTES = 2 * estimated_peak_bytes(arch, n, half)
    assert estimated_peak_bytes(arch, n) <= proving_memory(1) and proving_memory(2) == estimated_peak_bytes(arch, n, half)
    entry = services.create_submission(users.bob, challenge, zk.commitment_bytes, proof_mode="hosted",
                                       model_bytes=zk.model_bytes)
    Submission.objects.filter(pk=entry.pk).update(attempts=1)          # one attempt lapsed already
    assert tasks.prove.apply(args=(entry.pk,)).get() == "proved"
    entry.refresh_from_db()
    proof = zkml.read_proof(bytes(entry.proof))
    assert isinstance(proof, zkml.ShardedProof) and proof.shards[0].stop == half
    assert services.run_verification(entry.pk) == "verified"
    settings.PROVING_MEMORY_BYTES = None
    assert proving_memory(3) is None                                    # no limit stays no limit


def test_hosted_proving_waits_for_reveal(users, make_challenge, zk):
    hidden = make_challenge("hidden", revealed=False)
    entry = services.create_submission(users.bob, hidden, zk.commitment_bytes, proof_mode="hosted",
                                       model_bytes=zk.model_bytes)
    assert services.run_hosted_proving(entry.pk) == "skipped"
    entry.refresh_from_db()
    assert entry.state == "committed" and (settings.VAULT_DIR / entry.vault_path).exists()
    services.delete_vault_file(entry.vault_path)


def test_reaper_queues_revealed_hosted_entries_once(users, make_challenge, zk, django_capture_on_commit_callbacks):
    hidden = make_challenge("hidden", revealed=False)
    with django_capture_on_commit_callbacks() as callbacks:
        entry = services.create_submission(users.bob, hidden, zk.commitment_bytes, proof_mode="hosted",
                                           model_bytes=zk.model_bytes)
    assert callbacks == []  # not revealed yet: nothing to prove
    with django_capture_on_commit_callbacks() as callbacks:
        assert jobs.reap()["dispatched"] == 0
    hidden.reveal_at = timezone.now() - timedelta(seconds=1)
    hidden.save()
    with django_capture_on_commit_callbacks() as callbacks:
        assert jobs.reap()["dispatched"] == 1
        assert jobs.reap()["dispatched"] == 0  # sent less than a lease ago: not sent again
    assert len(callbacks) == 1
    entry.refresh_from_db()
    assert entry.last_dispatched_at is not None
    services.delete_vault_file(entry.vault_path)


def test_prove_task_never_touches_a_self_hosted_entry(users, challenge, zk):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    services.report_progress(users.alice, entry, "sumcheck", 10)
    Submission.objects.filter(pk=entry.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert services.run_hosted_proving(entry.pk) == "skipped"
    entry.refresh_from_db()
    assert entry.state == "proving" and entry.progress_stage == "sumcheck"
