"""The work of the platform's workers (called by the Celery tasks in tasks.py): hosted proving and
verification of one entry, each under the claim and lease of jobs.py, each ending in one of the
transitions of states.py (proof_received, verified, rejected, failed, or back to waiting)."""
import hashlib
import io
import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from challenges.models import Challenge

from . import dispatch, jobs
from .models import Submission
from .uploads import claimed_count, parameter_count
from .vault import delete_vault_file, vault_dir

log = logging.getLogger(__name__)
State = Submission.State
ProofMode = Submission.ProofMode


def _calibration_x(challenge: Challenge):
    import numpy as np

    field = challenge.calibration_set if challenge.calibration_set else challenge.test_set
    with field.open("rb") as fh:
        with np.load(io.BytesIO(fh.read()), allow_pickle=False) as archive:
            return np.asarray(archive["x"], dtype=np.float32)


def proving_memory(attempt: int) -> int | None:
    """The memory a proving attempt may plan for (zkml/memory.py): PROOFBOARD_PROVER_MEMORY,
    halved at each retry, since a worker that died mid-proof may have been killed for lack of
    memory (smaller shards cost a larger proof, never a wrong one)."""
    budget = settings.PROVING_MEMORY_BYTES
    return None if budget is None else max(1, budget >> max(0, attempt - 1))


def run_hosted_proving(submission_id: int) -> str:
    """Prove a vault model against the revealed test set; returns what happened."""
    scope = Q(proof_mode=ProofMode.HOSTED, challenge__reveal_at__lte=timezone.now())
    lease = jobs.claim(submission_id, State.PROVING, settings.PROVING_TIMEOUT, scope)
    if lease is None:
        return "skipped"
    try:
        with lease:
            return _prove(submission_id, lease)
    except jobs.LeaseLost:
        return "lost"  # re-queued by the reaper while this attempt ran: it writes nothing


def _prove(submission_id: int, lease: "jobs.Lease") -> str:
    submission = Submission.objects.select_related("challenge").get(pk=submission_id)
    challenge = submission.challenge
    path = vault_dir() / Path(submission.vault_path).name if submission.vault_path else None
    if path is None or not path.is_file():
        # The platform lost the file it accepted: its fault, not the participant's (retryable).
        log.error("submission %s: the model file is no longer in the vault", submission_id)
        lease.finish(state=State.FAILED, failed_stage="proving", progress_stage="proving failed",
                     reason="proving error: the model file is no longer in the vault")
        return "failed"
    started = time.monotonic()
    try:
        import zkml
        from zkml.errors import FormatError, UnsupportedModelError

        # The challenge's own test set: any problem with it is the platform's (failed, retryable).
        dataset = zkml.load_dataset(challenge.test_set.path)
        try:
            if submission.is_baseline:
                lease.renew(progress_stage="quantizing")
                model = zkml.quantize(path.read_bytes(), _calibration_x(challenge))
                commitment = zkml.commit(model)
                commitment_bytes = commitment.to_bytes()
                lease.update(
                    commitment=commitment_bytes, commitment_sha256=hashlib.sha256(commitment_bytes).hexdigest(),
                    architecture=commitment.architecture,
                    parameter_count=parameter_count(commitment.architecture),
                )
            else:
                model = zkml.QuantizedModel.load(str(path))
        except (FormatError, UnsupportedModelError) as exc:
            if lease.finish(state=State.REJECTED, reason=f"model rejected: {exc}"[:2000], progress_stage="rejected"):
                _remove_model(submission_id, submission.vault_path)
            return "rejected"
        shard = settings.PROVING_SHARD_SIZE
        proof = zkml.prove(model, dataset, progress=lease.progress(), context=submission.proof_context,
                           shard_size=shard if 0 < shard < len(dataset) else None,
                           max_memory=None if shard > 0 else proving_memory(submission.attempts))
        proof_bytes = proof.to_bytes()
    except jobs.LeaseLost:
        raise
    except jobs.TRANSIENT_DB_ERRORS as exc:  # the database went away: retry the job, do not fail it
        lease.release(exc)
        return "retry"
    except Exception as exc:  # platform-side: keep the model so the job can be retried
        lease.fail("proving", exc)
        return "failed"
    lease.check()

    def finish() -> bool:
        with transaction.atomic():
            done = lease.finish(
                state=State.PROOF_RECEIVED, proof=proof_bytes, proof_size=len(proof_bytes),
                claimed_count=claimed_count(proof), proof_uploaded_at=timezone.now(), attempts=0,
                prove_seconds=time.monotonic() - started, progress_stage="proof received", progress_percent=100,
            )
            if done:
                dispatch.enqueue("verify", submission_id)
        return done

    done = jobs.db_retry(finish)
    if done:
        _remove_model(submission_id, submission.vault_path)
    return "proved" if done else "lost"


def _remove_model(submission_id: int, name: str) -> None:
    """The entry no longer needs its model: delete the file, then forget its name (a crash in between
    leaves the name on the row, and jobs.sweep_vault deletes the file)."""
    delete_vault_file(name)
    jobs.db_retry(lambda: Submission.objects.filter(pk=submission_id, vault_path=name).update(vault_path=""))


def run_verification(submission_id: int) -> str:
    """Verify a stored proof against the commitment and the test set; returns the outcome."""
    lease = jobs.claim(submission_id, State.VERIFYING, settings.VERIFYING_TIMEOUT)
    if lease is None:
        return "skipped"
    try:
        with lease:
            return _verify(submission_id, lease)
    except jobs.LeaseLost:
        return "lost"


def _verify(submission_id: int, lease: "jobs.Lease") -> str:
    submission = Submission.objects.select_related("challenge", "participant").get(pk=submission_id)
    challenge = submission.challenge
    started = time.monotonic()
    try:
        import zkml
        from zkml.errors import FormatError, VerificationError

        # The challenge's own test set: any problem with it is the platform's (failed, retryable).
        dataset = zkml.load_dataset(challenge.test_set.path)
        try:
            commitment = zkml.Commitment.from_bytes(bytes(submission.commitment))
            proof = zkml.read_proof(bytes(submission.proof))   # whole or sharded
            count = int(zkml.verify(commitment, dataset, proof, progress=lease.progress(),
                                    context=submission.proof_context))
        except VerificationError as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            lease.finish(state=State.REJECTED, reason=f"proof rejected: {reason}"[:2000],
                         progress_stage="rejected", verify_seconds=time.monotonic() - started)
            return "rejected"
        except FormatError as exc:
            lease.finish(state=State.REJECTED, reason=f"malformed file: {exc}"[:2000], progress_stage="rejected")
            return "rejected"
        total = int(len(dataset.y))
    except jobs.LeaseLost:
        raise
    except jobs.TRANSIENT_DB_ERRORS as exc:
        lease.release(exc)
        return "retry"
    except Exception as exc:
        lease.fail("verifying", exc)
        return "failed"
    lease.check()
    elapsed = time.monotonic() - started
    verified_at = timezone.now()
    record = {
        "submission": submission.pk,
        "challenge": challenge.slug,
        "participant": submission.participant.get_username(),
        "proof_mode": submission.proof_mode,
        "baseline": submission.is_baseline,
        "late": submission.late,
        "committed_at": submission.created_at.isoformat(),
        "dataset_sha256": challenge.test_set_sha256,
        "context": submission.proof_context,
        "commitment_sha256": submission.commitment_sha256,
        "proof_sha256": hashlib.sha256(bytes(submission.proof)).hexdigest(),
        "correct_count": count,
        "total_count": total,
        "accuracy": round(100.0 * count / total, 4) if total else None,
        "verified_at": verified_at.isoformat(),
        "verify_seconds": round(elapsed, 3),
        "verifier": _verifier_name(),
    }
    done = lease.finish(state=State.VERIFIED, correct_count=count, total_count=total, verified_at=verified_at,
                        verify_seconds=elapsed, verification_record=record, progress_stage="verified",
                        progress_percent=100)
    return "verified" if done else "lost"


def _verifier_name() -> str:
    """E.g. "zkml proofboard-zkml-mlp-proof-v1": the proof protocol the verifier checked."""
    try:
        from zkml.circuit import PROTOCOL_VERSION

        return "zkml " + PROTOCOL_VERSION.decode()
    except Exception:
        return "zkml unknown"
