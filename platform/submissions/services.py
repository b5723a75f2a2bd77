"""Submission services: the state machine of an entry.

committed → proving → proof_received → verifying → verified | rejected (participant's
fault, final) | failed (platform's fault, retryable). Every transition is a conditional
UPDATE on the current state, so running a worker task twice changes nothing twice.
"""
import hashlib
import io
import logging
import math
import os
import secrets
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from challenges.models import Challenge
from challenges.services import leaderboard_changed

from . import checks, dispatch, jobs
from .models import Submission

log = logging.getLogger(__name__)
State = Submission.State
ProofMode = Submission.ProofMode


# ---------------------------------------------------------------- validation

class WrongState(ValidationError):
    """The entry is not in a state that allows the action (a 409 in the API)."""


UPLOAD_LIMITS = {  # what: settings name of its size limit
    "commitment": "MAX_COMMITMENT_BYTES",
    "proof": "MAX_PROOF_BYTES",
    "model": "MAX_MODEL_BYTES",
}


def check_upload_size(what: str, size: Optional[int]) -> None:
    """Refuse an upload from its declared size (UploadedFile.size / Content-Length), before reading it."""
    limit = getattr(settings, UPLOAD_LIMITS[what])
    if size is not None and size > limit:
        raise ValidationError(f"The {what} file is larger than {limit} bytes.")


def read_upload(what: str, uploaded) -> bytes:
    """Check an UploadedFile's size against its limit, then read it."""
    check_upload_size(what, uploaded.size)
    return uploaded.read()


def _check_file(what: str, data: bytes) -> None:
    """Refuse empty or oversized file contents (`what`: a key of UPLOAD_LIMITS)."""
    if not data:
        raise ValidationError(f"The {what} file is empty.")
    check_upload_size(what, len(data))


def parse_commitment(data: bytes, challenge: Challenge):
    """Parse a COMMIT.json and check it fits the challenge; returns the zkml Commitment."""
    import zkml
    from zkml.errors import ZkmlError

    _check_file("commitment", data)
    wrong = checks.wrong_kind(data, "commitment")
    if wrong:
        raise checks.UploadMismatch(wrong)
    try:
        commitment = zkml.Commitment.from_bytes(data)
        arch = commitment.architecture
    except ZkmlError as exc:
        raise ValidationError(f"Not a valid commitment file: {str(exc)[:500]}. {checks.COMMITMENT_ADVICE}")
    except Exception as exc:  # anything the parser did not anticipate is still bad input
        raise ValidationError(f"Not a valid commitment file ({type(exc).__name__}). {checks.COMMITMENT_ADVICE}")
    if not isinstance(arch, dict) or not arch.get("layers"):
        raise ValidationError("The commitment does not describe a model architecture.")
    if _has_nul(arch):
        raise ValidationError("The commitment's architecture contains NUL characters.")
    layers = arch["layers"]
    input_shape = arch.get("input_shape") or [layers[0].get("in", 0)]
    try:
        input_dims = int(math.prod(int(d) for d in input_shape))
        n_classes = int(arch.get("n_classes") or layers[-1].get("out"))
    except (TypeError, ValueError):
        raise ValidationError("The commitment's architecture is malformed.")
    parameter_count(arch)  # raises on malformed layer sizes
    _check_image_shape(arch, challenge)
    if input_dims != challenge.input_size:
        raise ValidationError(
            f"The committed model takes {input_dims} inputs; this challenge's samples have "
            f"{challenge.input_size} ({'×'.join(map(str, challenge.input_shape))})."
        )
    if n_classes != challenge.n_classes:
        raise ValidationError(
            f"The committed model outputs {n_classes} classes; this challenge has {challenge.n_classes}."
        )
    return commitment


MAX_PARAMETER_COUNT = (1 << 63) - 1  # PositiveBigIntegerField


def parameter_count(architecture: dict) -> int:
    """Weights and biases of the dense and conv layers, computed from the layer shapes.

    The architecture's own "parameter_count" field is the participant's claim and is ignored.
    """
    from zkml.errors import ZkmlError
    from zkml.layers.spec import parameter_count as count

    try:
        total = count(architecture)
    except (ZkmlError, KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError):
        raise ValidationError("The commitment's architecture is malformed.")
    return min(total, MAX_PARAMETER_COUNT)


def _check_image_shape(arch: dict, challenge) -> None:
    """A convolutional model reads [C, H, W] images: the challenge's sample shape must be the
    same ([H, W] counts as one channel). Dense models read the flattened sample."""
    layers = arch.get("layers") or []
    if not layers or layers[0].get("kind", "dense") == "dense":
        return
    shape = [int(d) for d in arch.get("input_shape") or []]
    want = [int(d) for d in challenge.input_shape]
    if shape != want and not (len(want) == 2 and shape == [1] + want):
        raise ValidationError(
            f"The committed model reads images of shape {'×'.join(map(str, shape))} ([C, H, W]); "
            f"this challenge's samples are {'×'.join(map(str, want))}."
        )


def _has_nul(value) -> bool:
    """True if a JSON-like value holds a NUL character anywhere (PostgreSQL text/jsonb refuse them)."""
    import json

    try:
        return "\\u0000" in json.dumps(value)  # json always escapes NUL
    except (TypeError, ValueError):
        return True


def check_text(what: str, value: str) -> str:
    """Refuse NUL characters in participant-supplied text (PostgreSQL cannot store them)."""
    if "\x00" in (value or ""):
        raise ValidationError(f"The {what} must not contain NUL characters.")
    return value


def parse_proof(data: bytes):
    """Parse a proof file; returns the zkml Proof."""
    import zkml
    from zkml.errors import ZkmlError

    _check_file("proof", data)
    wrong = checks.wrong_kind(data, "proof")
    if wrong:
        raise checks.UploadMismatch(wrong)
    try:
        return zkml.Proof.from_bytes(data)
    except ZkmlError as exc:
        raise ValidationError(f"Not a valid proof file: {exc}")
    except Exception as exc:
        raise ValidationError(f"Not a valid proof file ({type(exc).__name__}).")


def check_model_file(data: bytes, baseline: bool = False):
    """Check a MODEL.zkm (or a baseline .onnx) can be read; returns the loaded zkml model (None for ONNX)."""
    _check_file("model", data)
    if baseline:
        try:
            import onnx

            onnx.load_from_string(data)
        except Exception:
            raise ValidationError("Not a valid ONNX model.")
        return None
    import zkml

    wrong = checks.wrong_kind(data, "model")
    if wrong:
        raise checks.UploadMismatch(wrong)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.zkm"
        path.write_bytes(data)
        try:
            return zkml.QuantizedModel.load(str(path))
        except Exception as exc:
            raise ValidationError(f"Not a valid MODEL.zkm file: {exc}")


def check_model_matches(model, commitment) -> None:
    """Hosted mode: the MODEL.zkm must be the one the COMMIT.json was made from."""
    import zkml
    from zkml.errors import ZkmlError

    try:
        zkml.check_model_commitment(model, commitment)
    except zkml.CommitmentMismatchError as exc:
        raise checks.UploadMismatch(f"The model file does not match the commitment: {exc}. Upload the COMMIT.json "
                                    "made from this MODEL.zkm (committing again changes both).")
    except ZkmlError as exc:
        raise ValidationError(f"The model file cannot be proved: {exc}")


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
    platform_failure = Q(state=State.FAILED) & ~Q(proof_mode=ProofMode.SELF_HOSTED, failed_stage="proving")
    return (
        Submission.objects.filter(challenge=challenge, participant=user, is_baseline=False,
                                  created_at__gte=_start_of_day(now))
        .exclude(platform_failure)
        .exclude(jobs.lapsed(now))
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


# ---------------------------------------------------------------- vault

def vault_dir() -> Path:
    """The prover vault: outside MEDIA_ROOT, never served, mode 0700."""
    path = Path(settings.VAULT_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write_vault_file(submission_id: int, data: bytes, suffix: str) -> str:
    name = f"{submission_id}-{secrets.token_hex(8)}{suffix}"
    path = vault_dir() / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return name


def delete_vault_file(name: str) -> None:
    """Remove a model from the vault (after proving)."""
    if name:
        try:
            (vault_dir() / Path(name).name).unlink()
        except FileNotFoundError:
            pass


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
        raise ValidationError("This challenge is not accepting commitments now.")
    if proof_mode not in ProofMode.values:
        raise ValidationError("Unknown proof mode.")
    check_text("label", label)
    commitment = parse_commitment(commitment_bytes, challenge)
    if proof_mode == ProofMode.HOSTED:
        if not model_bytes:
            raise ValidationError("Hosted proving needs your MODEL.zkm file.")
        check_model_matches(check_model_file(model_bytes), commitment)
    architecture = commitment.architecture
    digest = hashlib.sha256(commitment_bytes).hexdigest()
    revealed = challenge.is_revealed(now)
    vault_name = ""
    try:
        with transaction.atomic():
            # Serialise this user's submissions so the daily limit cannot be raced.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            # A commitment belongs to whoever uploaded it first (anti-replay of published bundles).
            _lock_commitment(digest)
            if Submission.objects.filter(commitment_sha256=digest).exclude(participant=user).exists():
                raise ValidationError(COMMITMENT_IN_USE)
            if remaining_today(user, challenge, now) <= 0:
                raise ValidationError(limit_message(challenge, now))
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
                vault_name = _write_vault_file(submission.pk, model_bytes, ".zkm")
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
        raise PermissionDenied("Only staff can add baselines.")
    check_model_file(onnx_bytes, baseline=True)
    checks.check_baseline_model(challenge, onnx_bytes)
    vault_name = ""
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                challenge=challenge, participant=host, label=(label or "baseline")[:80],
                proof_mode=ProofMode.HOSTED, is_baseline=True, progress_stage="waiting for a prover",
            )
            vault_name = _write_vault_file(submission.pk, onnx_bytes, ".onnx")
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
        raise PermissionDenied("This is not your submission.")


def upload_proof(
    user: AbstractBaseUser, submission: Submission, proof_bytes: bytes, prove_seconds: Optional[float] = None
) -> Submission:
    """Self-hosted mode: store the participant's proof and queue its verification."""
    _check_owner(user, submission)
    if submission.proof_mode != ProofMode.SELF_HOSTED:
        raise ValidationError("This entry is proved by the platform's hosted prover.")
    if not submission.challenge.accepts_proofs():
        if not submission.challenge.is_revealed():
            raise ValidationError("The test set is not revealed yet; proofs are accepted after the reveal.")
        raise ValidationError("The proving deadline has passed.")
    proof = parse_proof(proof_bytes)
    checks.check_proof_for_entry(submission, proof)
    now = timezone.now()
    if prove_seconds is not None and not (0 <= prove_seconds < 1e7):
        prove_seconds = None
    with transaction.atomic():
        updated = (
            Submission.objects.filter(pk=submission.pk)
            .filter(Q(state__in=[State.COMMITTED, State.PROVING]) | Q(state=State.FAILED, failed_stage="proving"))
            .update(
                proof=proof_bytes, proof_size=len(proof_bytes), claimed_count=_claimed(proof),
                proof_uploaded_at=now, prove_seconds=prove_seconds, state=State.PROOF_RECEIVED,
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


def _claimed(proof) -> Optional[int]:
    try:
        return int(proof.claimed_count)
    except Exception:
        return None


def report_progress(user: AbstractBaseUser, submission: Submission, stage: str, percent: float) -> Submission:
    """Self-hosted mode: the participant's prover reports progress (committed → proving)."""
    _check_owner(user, submission)
    check_text("progress stage", stage)
    if submission.proof_mode != ProofMode.SELF_HOSTED:
        raise ValidationError("This entry is proved by the platform.")
    if not submission.challenge.accepts_proofs():
        raise ValidationError("Proofs are not accepted now.")
    now = timezone.now()
    pct = int(max(0, min(100, percent)))
    updated = (
        Submission.objects.filter(pk=submission.pk)
        .filter(Q(state__in=[State.COMMITTED, State.PROVING]) | Q(state=State.FAILED, failed_stage="proving"))
        .update(state=State.PROVING, failed_stage="", reason="", progress_stage=str(stage)[:80],
                progress_percent=pct, deadline_at=now + timedelta(seconds=settings.PROVING_TIMEOUT), updated_at=now)
    )
    if not updated:
        raise ValidationError("This entry is not waiting for a proof.")
    submission.refresh_from_db()
    return submission


# ---------------------------------------------------------------- worker side (claims and leases: jobs.py)

def _calibration_x(challenge: Challenge):
    import numpy as np

    field = challenge.calibration_set if challenge.calibration_set else challenge.test_set
    with field.open("rb") as fh:
        with np.load(io.BytesIO(fh.read()), allow_pickle=False) as archive:
            return np.asarray(archive["x"], dtype=np.float32)


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
        proof = zkml.prove(model, dataset, progress=lease.progress(), context=submission.proof_context)
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
                claimed_count=_claimed(proof), proof_uploaded_at=timezone.now(), attempts=0,
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
            proof = zkml.Proof.from_bytes(bytes(submission.proof))
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


# ---------------------------------------------------------------- host actions

def retry(submission: Submission) -> bool:
    """Re-run a failed (platform-side) entry from the stage that failed, with a fresh attempt count.
    A hosted entry whose model has left the vault (FAILED_MODEL_RETENTION) cannot be proved again."""
    fresh = dict(failed_stage="", reason="", progress_percent=0, attempts=0, claimed_by="",
                 lease_expires_at=None, deadline_at=None)
    with transaction.atomic():
        if submission.failed_stage == "verifying":
            ok = Submission.objects.filter(pk=submission.pk, state=State.FAILED, failed_stage="verifying").update(
                state=State.PROOF_RECEIVED, progress_stage="queued for verification", **fresh)
            if ok:
                dispatch.enqueue("verify", submission.pk)
        else:
            ok = (Submission.objects.filter(pk=submission.pk, state=State.FAILED)
                  .exclude(proof_mode=ProofMode.HOSTED, vault_path="")
                  .update(state=State.COMMITTED, progress_stage="queued for proving", **fresh))
            if ok and submission.proof_mode == ProofMode.HOSTED:
                dispatch.enqueue("prove", submission.pk)
    return bool(ok)


def disqualify(actor: AbstractBaseUser, submission: Submission, reason: str) -> Submission:
    """Staff only: hide an entry from the ranking, with a public reason."""
    if not (actor.is_authenticated and actor.is_staff):
        raise PermissionDenied("Only staff can disqualify entries.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("A public reason is required.")
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(disqualified=True, disqualified_reason=reason[:2000])
        leaderboard_changed(challenge_id=submission.challenge_id)
    submission.refresh_from_db()
    return submission
