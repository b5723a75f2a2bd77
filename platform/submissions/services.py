"""Submission services: the participant's and the host's actions on an entry (commit, upload a
proof, report progress, re-run, disqualify) and the daily limit.

Each action checks its preconditions and raises a typed exception of errors.py; each state change
is a conditional UPDATE through `Submission.objects.….move(target)` (the transitions and the other
rules live in states.py), so running an action or a worker task twice changes nothing twice.
Split by concern: uploads.py (upload validation, the zkml adapter), vault.py (hosted models),
worker.py (the workers' hosted proving and verification), jobs.py (claims, leases, the reaper);
their public names are re-exported here for the callers that use them through `services`.
"""
import hashlib
from datetime import datetime, timedelta
from typing import Optional

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from challenges.models import Challenge
from challenges.services import leaderboard_changed

from . import checks, dispatch, errors
from .models import Submission
from .uploads import (  # noqa: F401  (re-exported)
    MAX_PARAMETER_COUNT, UPLOAD_LIMITS, check_model_file, check_model_matches, check_text, check_upload_size,
    claimed_count, parameter_count, parse_commitment, parse_proof, read_upload,
)
from .vault import delete_vault_file, vault_dir, write_vault_file  # noqa: F401  (re-exported)
from .worker import run_hosted_proving, run_verification  # noqa: F401  (re-exported)

State = Submission.State
ProofMode = Submission.ProofMode
WrongState = errors.WrongState  # the name callers used before errors.py


# ---------------------------------------------------------------- commitment ownership

COMMITMENT_IN_USE = "this commitment is already used by another participant"


def _lock_commitment(digest: str) -> None:
    """Serialise uploads of the same commitment across users (PostgreSQL advisory lock)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(digest[:15], 16)])


# ---------------------------------------------------------------- quota

def _start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def used_today(user: AbstractBaseUser, challenge: Challenge, now: Optional[datetime] = None) -> int:
    """Entries the user made today (UTC) on the challenge; platform failures do not count, nor do
    platform jobs still in flight past their lease (stuck on the platform's side until the reaper
    re-queues them).

    A self-hosted entry whose own prover timed out is the participant's failure, so it counts.
    """
    now = now or timezone.now()
    return (
        Submission.objects.filter(challenge=challenge, participant=user, created_at__gte=_start_of_day(now))
        .counting_against_limit(now)
        .count()
    )


def limit_resets_at(now: Optional[datetime] = None) -> datetime:
    """When the daily limit starts afresh: the next midnight UTC."""
    return _start_of_day(now or timezone.now()) + timedelta(days=1)


def limit_message(challenge: Challenge, now: Optional[datetime] = None) -> str:
    """Why a participant cannot commit now, and until when."""
    n = challenge.max_submissions_per_day
    resets = limit_resets_at(now)
    return (f"You have used all {n} submission{'' if n == 1 else 's'} for today on this challenge; "
            f"you can commit again from {resets:%Y-%m-%d %H:%M} UTC.")


def remaining_today(user: AbstractBaseUser, challenge: Challenge, now: Optional[datetime] = None) -> int:
    """How many more entries the user may commit today."""
    if not user.is_authenticated:
        return 0
    return max(0, challenge.max_submissions_per_day - used_today(user, challenge, now))


# ---------------------------------------------------------------- participant actions

def create_submission(
    user: AbstractBaseUser,
    challenge: Challenge,
    commitment_bytes: bytes,
    proof_mode: str = ProofMode.SELF_HOSTED,
    model_bytes: Optional[bytes] = None,
    label: str = "",
    now: Optional[datetime] = None,
) -> Submission:
    """Validate and store a commitment (and, for hosted proving, the model in the vault)."""
    if not user.is_authenticated:
        raise PermissionDenied("Log in to submit.")
    now = now or timezone.now()
    if not challenge.is_open(now):
        raise errors.ChallengeClosed("This challenge is not accepting commitments now.")
    if proof_mode not in ProofMode.values:
        raise errors.BadInput("Unknown proof mode.")
    check_text("label", label)
    commitment = parse_commitment(commitment_bytes, challenge)
    if proof_mode == ProofMode.HOSTED:
        if not model_bytes:
            raise errors.BadUpload("Hosted proving needs your MODEL.zkm file.")
        check_model_matches(check_model_file(model_bytes), commitment)
    architecture = commitment.architecture
    # of the canonical encoding: a re-spaced copy of someone else's COMMIT.json is the same commitment
    digest = hashlib.sha256(commitment.to_bytes()).hexdigest()
    revealed = challenge.is_revealed(now)
    vault_name = ""
    try:
        with transaction.atomic():
            # Serialise this user's submissions so the daily limit cannot be raced.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            # A commitment belongs to whoever uploaded it first (anti-replay of published bundles).
            _lock_commitment(digest)
            if Submission.objects.filter(commitment_sha256=digest).exclude(participant=user).exists():
                raise errors.CommitmentInUse(COMMITMENT_IN_USE)
            if remaining_today(user, challenge, now) <= 0:
                raise errors.QuotaExceeded(limit_message(challenge, now))
            submission = Submission.objects.create(
                challenge=challenge,
                participant=user,
                label=(label or "")[:80],
                created_at=now,
                commitment=commitment_bytes,
                commitment_sha256=digest,
                architecture=architecture,
                parameter_count=parameter_count(architecture),
                proof_mode=proof_mode,
                late=revealed,
                progress_stage="committed" if revealed else "waiting for the reveal",
            )
            if proof_mode == ProofMode.HOSTED:
                vault_name = write_vault_file(submission.pk, model_bytes, ".zkm")
                Submission.objects.filter(pk=submission.pk).update(vault_path=vault_name)
                submission.vault_path = vault_name
                if revealed:
                    dispatch.enqueue("prove", submission.pk)
    except Exception:
        delete_vault_file(vault_name)
        raise
    return submission


def create_baseline(host: AbstractBaseUser, challenge: Challenge, onnx_bytes: bytes, label: str = "baseline") -> Submission:
    """Staff only: a baseline from an ONNX model; the prove worker quantizes, commits and proves it."""
    if not (host.is_authenticated and host.is_staff):
        raise errors.StaffOnly("Only staff can add baselines.")
    check_model_file(onnx_bytes, baseline=True)
    checks.check_baseline_model(challenge, onnx_bytes)
    vault_name = ""
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                challenge=challenge, participant=host, label=(label or "baseline")[:80],
                proof_mode=ProofMode.HOSTED, is_baseline=True, progress_stage="waiting for a prover",
            )
            vault_name = write_vault_file(submission.pk, onnx_bytes, ".onnx")
            Submission.objects.filter(pk=submission.pk).update(vault_path=vault_name)
            submission.vault_path = vault_name
            if challenge.is_revealed():
                dispatch.enqueue("prove", submission.pk)
    except Exception:
        delete_vault_file(vault_name)
        raise
    return submission


def _check_owner(user: AbstractBaseUser, submission: Submission) -> None:
    if not user.is_authenticated or submission.participant_id != user.pk:
        raise errors.NotYourEntry("No such submission.")


def upload_proof(
    user: AbstractBaseUser, submission: Submission, proof_bytes: bytes, prove_seconds: Optional[float] = None
) -> Submission:
    """Self-hosted mode: store the participant's proof and queue its verification."""
    _check_owner(user, submission)
    if submission.proof_mode != ProofMode.SELF_HOSTED:
        raise errors.WrongProofMode("This entry is proved by the platform's hosted prover.")
    if not submission.challenge.accepts_proofs():
        if not submission.challenge.is_revealed():
            raise errors.ChallengeClosed("The test set is not revealed yet; proofs are accepted after the reveal.")
        raise errors.ChallengeClosed("The proving deadline has passed.")
    proof = parse_proof(proof_bytes)
    checks.check_proof_for_entry(submission, proof)
    now = timezone.now()
    if prove_seconds is not None and not (0 <= prove_seconds < 1e7):
        prove_seconds = None
    with transaction.atomic():
        updated = (
            Submission.objects.filter(pk=submission.pk).accepting_proof()
            .move(
                State.PROOF_RECEIVED,
                proof=proof_bytes, proof_size=len(proof_bytes), claimed_count=claimed_count(proof),
                proof_uploaded_at=now, prove_seconds=prove_seconds,
                failed_stage="", reason="", progress_stage="proof received", progress_percent=100,
                deadline_at=None, updated_at=now,
            )
        )
        if not updated:
            submission.refresh_from_db()
            raise WrongState(f"This entry does not accept a proof in state '{submission.get_state_display()}'.")
        dispatch.enqueue("verify", submission.pk)
    submission.refresh_from_db()
    return submission


def report_progress(user: AbstractBaseUser, submission: Submission, stage: str, percent: float) -> Submission:
    """Self-hosted mode: the participant's prover reports progress (committed → proving)."""
    _check_owner(user, submission)
    check_text("progress stage", stage)
    if submission.proof_mode != ProofMode.SELF_HOSTED:
        raise errors.WrongProofMode("This entry is proved by the platform.")
    if not submission.challenge.accepts_proofs():
        raise errors.ChallengeClosed("Proofs are not accepted now.")
    now = timezone.now()
    pct = int(max(0, min(100, percent)))
    updated = (
        Submission.objects.filter(pk=submission.pk).accepting_proof()
        .move(State.PROVING, failed_stage="", reason="", progress_stage=str(stage)[:80],
              progress_percent=pct, deadline_at=now + timedelta(seconds=settings.PROVING_TIMEOUT), updated_at=now)
    )
    if not updated:
        submission.refresh_from_db()
        raise errors.WrongState(f"This entry is not waiting for a proof (it is '{submission.get_state_display()}').")
    submission.refresh_from_db()
    return submission


# ---------------------------------------------------------------- host actions

def retry(submission: Submission) -> bool:
    """Re-run a failed (platform-side) entry from the stage that failed, with a fresh attempt count.
    A hosted entry whose model has left the vault (FAILED_MODEL_RETENTION) cannot be proved again."""
    fresh = dict(failed_stage="", reason="", progress_percent=0, attempts=0, claimed_by="",
                 lease_expires_at=None, deadline_at=None)
    with transaction.atomic():
        rows = Submission.objects.filter(pk=submission.pk).retryable()
        if submission.failed_stage == "verifying":
            ok = rows.filter(failed_stage="verifying").move(
                State.PROOF_RECEIVED, progress_stage="queued for verification", **fresh)
            if ok:
                dispatch.enqueue("verify", submission.pk)
        else:
            ok = rows.move(State.COMMITTED, progress_stage="queued for proving", **fresh)
            if ok and submission.proof_mode == ProofMode.HOSTED:
                dispatch.enqueue("prove", submission.pk)
    return bool(ok)


def disqualify(actor: AbstractBaseUser, submission: Submission, reason: str) -> Submission:
    """Staff only: hide an entry from the ranking, with a public reason."""
    if not (actor.is_authenticated and actor.is_staff):
        raise errors.StaffOnly("Only staff can disqualify entries.")
    reason = (reason or "").strip()
    if not reason:
        raise errors.BadInput("A public reason is required.")
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(disqualified=True, disqualified_reason=reason[:2000])
        leaderboard_changed(challenge_id=submission.challenge_id)
    submission.refresh_from_db()
    return submission
