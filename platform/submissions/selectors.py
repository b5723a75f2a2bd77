"""Read-side queries: leaderboards, accuracy history, failures, visibility."""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from challenges.models import Challenge

from .models import Submission

State = Submission.State


@dataclass
class Leaderboard:
    main: list[Submission] = field(default_factory=list)
    late: list[Submission] = field(default_factory=list)
    disqualified: list[Submission] = field(default_factory=list)


def verified_entries(challenge: Challenge) -> QuerySet[Submission]:
    """Verified entries in rank order: proven correct count desc, then earlier commitment."""
    return (
        Submission.objects.filter(challenge=challenge, state=State.VERIFIED)
        .select_related("participant")
        .defer("commitment", "proof")
        .order_by("-correct_count", "created_at", "pk")
    )


def leaderboard(challenge: Challenge) -> Leaderboard:
    """Ranked main board, separately ranked late board, and disqualified entries with reasons."""
    board = Leaderboard()
    for entry in verified_entries(challenge):
        if entry.disqualified:
            board.disqualified.append(entry)
        elif entry.late:
            board.late.append(entry)
        else:
            board.main.append(entry)
    for rows in (board.main, board.late):
        for rank, entry in enumerate(rows, start=1):
            entry.rank = rank
    return board


def entry_json(entry: Submission) -> dict[str, Any]:
    """Public JSON of one verified entry."""
    return {
        "rank": getattr(entry, "rank", None),
        "submission": entry.pk,
        "participant": entry.participant.get_username(),
        "label": entry.label,
        "correct_count": entry.correct_count,
        "total_count": entry.total_count,
        "accuracy": round(entry.accuracy, 2) if entry.accuracy is not None else None,
        "architecture": entry.architecture_summary,
        "layers": entry.layer_count,
        "parameter_count": entry.parameter_count,
        "proof_mode": entry.proof_mode,
        "proof_size": entry.proof_size,
        "prove_seconds": round(entry.prove_seconds, 3) if entry.prove_seconds is not None else None,
        "verify_seconds": round(entry.verify_seconds, 3) if entry.verify_seconds is not None else None,
        "baseline": entry.is_baseline,
        "late": entry.late,
        "committed_at": entry.created_at.isoformat(),
        "verified_at": entry.verified_at.isoformat() if entry.verified_at else None,
        "disqualified": entry.disqualified,
        "disqualified_reason": entry.disqualified_reason or None,
    }


def leaderboard_json(challenge: Challenge) -> dict[str, Any]:
    """The public leaderboard as a JSON-ready dict."""
    board = leaderboard(challenge)
    return {
        "challenge": challenge.slug,
        "test_set_sha256": challenge.test_set_sha256,
        "ranking": [entry_json(e) for e in board.main],
        "late": [entry_json(e) for e in board.late],
        "disqualified": [entry_json(e) for e in board.disqualified],
    }


def accuracy_history(challenge: Challenge) -> list[tuple[datetime, float]]:
    """Best proven accuracy so far, at each verified on-time entry's commitment time."""
    points: list[tuple[datetime, float]] = []
    best = -1.0
    entries = (
        Submission.objects.filter(challenge=challenge, state=State.VERIFIED, disqualified=False, late=False)
        .only("created_at", "correct_count", "total_count")
        .order_by("created_at")
    )
    for entry in entries:
        acc = entry.accuracy
        if acc is not None and acc > best:
            best = acc
            points.append((entry.created_at, acc))
    return points


def can_view(user: AbstractBaseUser, entry: Submission) -> bool:
    """Owners and staff see every entry; everyone sees verified entries."""
    if user.is_authenticated and (user.is_staff or entry.participant_id == user.pk):
        return True
    return entry.state == State.VERIFIED


def user_entries(user: AbstractBaseUser, challenge: Challenge | None = None) -> QuerySet[Submission]:
    """A user's own entries, newest first."""
    qs = Submission.objects.filter(participant=user).select_related("challenge").defer("commitment", "proof")
    return qs.filter(challenge=challenge) if challenge is not None else qs


def recent_failures(limit: int = 50) -> QuerySet[Submission]:
    """Platform-side failures and rejections, newest first (staff page)."""
    return (
        Submission.objects.filter(state__in=[State.FAILED, State.REJECTED])
        .select_related("challenge", "participant")
        .defer("commitment", "proof")
        .order_by("-updated_at")[:limit]
    )


def status_json(entry: Submission) -> dict[str, Any]:
    """The polling payload of the submission page."""
    return {
        "id": entry.pk,
        "challenge": entry.challenge.slug,
        "state": entry.state,
        "state_display": entry.get_state_display(),
        "proof_mode": entry.proof_mode,
        "late": entry.late,
        "baseline": entry.is_baseline,
        "progress": {"stage": entry.progress_stage, "percent": entry.progress_percent},
        "reason": entry.reason or None,
        "failed_stage": entry.failed_stage or None,
        "deadline_at": entry.deadline_at.isoformat() if entry.deadline_at else None,
        "claimed_count": entry.claimed_count,
        "correct_count": entry.correct_count,
        "total_count": entry.total_count,
        "accuracy": round(entry.accuracy, 2) if entry.accuracy is not None else None,
        "proof_size": entry.proof_size,
        "committed_at": entry.created_at.isoformat(),
        "disqualified": entry.disqualified,
        "disqualified_reason": entry.disqualified_reason or None,
        "final": entry.state in (State.VERIFIED, State.REJECTED, State.FAILED),
    }
