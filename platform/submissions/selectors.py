"""Read-side queries: leaderboards (paginated and cached), accuracy history, failures, visibility."""
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from challenges.models import Challenge

from . import states
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
    """The whole board, uncached: ranked main board, separately ranked late board, and disqualified
    entries with reasons. Pages and the API use leaderboard_page (paginated, cached) instead."""
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


# ---------------------------------------------------------------- paginated, cached leaderboard
#
# With thousands of verified entries the whole board is megabytes of HTML or JSON and a second of
# rendering per request; readers get it a page at a time instead. Each page of the three sections
# (main ranking, late entries, disqualified) is one LIMIT/OFFSET query, ranks are the offset plus
# the position, and the page is cached under a key carrying the challenge's board_version, which
# challenges.services.leaderboard_changed bumps whenever an entry becomes verified or is
# disqualified: a reader never sees a stale board, and a busy board costs one cache read per view.

class PageNotFound(Exception):
    """A leaderboard page number that is not an integer in 1..pages."""


@dataclass
class BoardPage:
    """Page `number` of each of the three sections (every section is cut at the same offsets)."""
    number: int
    per_page: int
    main: list[Submission]
    late: list[Submission]
    disqualified: list[Submission]
    main_count: int
    late_count: int
    disqualified_count: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(max(self.main_count, self.late_count, self.disqualified_count) / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_size(requested: Any = None) -> int:
    """The page size: the request's `per_page` clamped to 1..LEADERBOARD_MAX_PAGE_SIZE, else the default."""
    try:
        size = int(requested)
    except (TypeError, ValueError):
        return settings.LEADERBOARD_PAGE_SIZE
    return max(1, min(size, settings.LEADERBOARD_MAX_PAGE_SIZE))


def page_number(requested: Any = None) -> int:
    """The page number of a request (`?page=`): 1 when absent; PageNotFound when not a positive integer."""
    if requested in (None, ""):
        return 1
    try:
        number = int(requested)
    except (TypeError, ValueError):
        raise PageNotFound(f"No such page: {str(requested)[:20]!r}.") from None
    if number < 1:
        raise PageNotFound(f"No such page: {number}.")
    return number


def board_cache_key(kind: str, challenge: Challenge, *parts: Any) -> str:
    """A cache key of something derived from the board: stale as soon as the board changes."""
    # The challenge's id and creation time (an id is never reused with the same timestamp) and its
    # board_version: a new final entry, or a re-created challenge, never meets an old page.
    stamp = int(challenge.created_at.timestamp() * 1e6) if challenge.created_at else 0
    return ":".join(str(p) for p in ("board", kind, challenge.pk, stamp, challenge.board_version, *parts))


def _section_filters() -> dict[str, Q]:
    return {"main": Q(disqualified=False, late=False), "late": Q(disqualified=False, late=True),
            "disqualified": Q(disqualified=True)}


def leaderboard_page(challenge: Challenge, number: int = 1, per_page: int | None = None) -> BoardPage:
    """Page `number` of the board, from the cache or from three LIMIT/OFFSET queries and one count.
    PageNotFound past the last page (page 1 always exists, even for an empty board)."""
    per_page = per_page or settings.LEADERBOARD_PAGE_SIZE
    key = board_cache_key("page", challenge, number, per_page)
    page = cache.get(key)
    if page is None:
        page = _board_page(challenge, number, per_page)
        if number <= page.pages:  # pages past the end are not cached: they cost a count, not memory
            cache.set(key, page, settings.LEADERBOARD_CACHE_SECONDS)
    if number > page.pages:
        raise PageNotFound(f"No such page: {number} (the board has {page.pages}).")
    return page


def _board_page(challenge: Challenge, number: int, per_page: int) -> BoardPage:
    sections = _section_filters()
    counts = Submission.objects.filter(challenge=challenge, state=State.VERIFIED).aggregate(
        **{name: Count("pk", filter=q) for name, q in sections.items()})
    offset = (number - 1) * per_page
    rows: dict[str, list[Submission]] = {}
    for name, q in sections.items():
        rows[name] = list(verified_entries(challenge).filter(q).defer("verification_record")[offset:offset + per_page]) \
            if counts[name] > offset else []
        for position, entry in enumerate(rows[name], start=offset + 1):
            entry.rank = position if name != "disqualified" else None
    return BoardPage(number=number, per_page=per_page, main=rows["main"], late=rows["late"],
                     disqualified=rows["disqualified"], main_count=counts["main"], late_count=counts["late"],
                     disqualified_count=counts["disqualified"])


def leaderboard_page_json(challenge: Challenge, number: int = 1, per_page: int | None = None) -> dict[str, Any]:
    """One page of the public leaderboard as a JSON-ready dict (cached like leaderboard_page; the
    caller adds the next/previous links, which depend on the request's host)."""
    per_page = per_page or settings.LEADERBOARD_PAGE_SIZE
    key = board_cache_key("json", challenge, number, per_page)
    body = cache.get(key)
    if body is None:
        page = leaderboard_page(challenge, number, per_page)
        body = {
            "challenge": challenge.slug,
            "test_set_sha256": challenge.test_set_sha256,
            "page": page.number,
            "per_page": page.per_page,
            "pages": page.pages,
            "counts": {"ranking": page.main_count, "late": page.late_count, "disqualified": page.disqualified_count},
            "ranking": [entry_json(e) for e in page.main],
            "late": [entry_json(e) for e in page.late],
            "disqualified": [entry_json(e) for e in page.disqualified],
        }
        cache.set(key, body, settings.LEADERBOARD_CACHE_SECONDS)
    elif number > body["pages"]:
        raise PageNotFound(f"No such page: {number} (the board has {body['pages']}).")
    return body


def cached_accuracy_history(challenge: Challenge) -> list[tuple[datetime, float]]:
    """accuracy_history, cached under the board version (it changes only with the board)."""
    key = board_cache_key("history", challenge)
    points = cache.get(key)
    if points is None:
        points = accuracy_history(challenge)
        cache.set(key, points, settings.LEADERBOARD_CACHE_SECONDS)
    return points


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
    """The polling payload of the entry page and the API's status (read by status.js and by
    `proofboard-prover`): the row's fields, the state machine's rules as they apply to it (`final`,
    `accepts_proof`, `counts_against_limit`, from states.py) and the proof `context`."""
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
        "context": entry.proof_context,
        **states.rules_json(entry, timezone.now()),
    }
