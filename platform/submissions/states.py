"""The state machine of an entry: the one place for each of its rules.

    committed → proving → proof_received → verifying → verified
                                                     → rejected   (participant's fault: final)
    running ── lease lapsed ──→ its waiting state (re-queued)  ── platform error ──→ failed (retryable)

Everything that asks "may this entry do X in its state?" asks this module: the services' and the
job code's conditional UPDATEs (`SubmissionQuerySet.move`, `accepting_proof`, `counting_against_limit`),
the entry page (through `Submission.accepts_proof` …), the status JSON (which exposes `final`,
`accepts_proof`, `counts_against_limit` and the proof `context`, read by status.js and by
`proofboard-prover`). Each rule is written twice on purpose — as a `Q` for the database and as a
predicate on one row — side by side, and tests/platform/test_web_rules.py checks that the two agree
for every combination of state, proof mode, failed stage and lease.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import Q


class State(models.TextChoices):
    COMMITTED = "committed", "committed"
    PROVING = "proving", "proving"
    PROOF_RECEIVED = "proof_received", "proof received"
    VERIFYING = "verifying", "verifying"
    VERIFIED = "verified", "verified"
    REJECTED = "rejected", "rejected"
    FAILED = "failed", "failed (platform, retryable)"


class ProofMode(models.TextChoices):
    SELF_HOSTED = "self_hosted", "self-hosted"
    HOSTED = "hosted", "hosted"


# ---------------------------------------------------------------- states and transitions

#: States an entry never leaves by itself (`failed` only by a staff re-run). The entry page stops polling.
FINAL = frozenset({State.VERIFIED, State.REJECTED, State.FAILED})

#: Every allowed transition: state → the states it may move to. `SubmissionQuerySet.move` refuses
#: (updates no row) any other; a state may "move" to itself only where listed (progress reports).
TRANSITIONS: dict[str, frozenset[str]] = {
    State.COMMITTED: frozenset({State.PROVING, State.PROOF_RECEIVED}),
    State.PROVING: frozenset({State.PROVING, State.PROOF_RECEIVED, State.COMMITTED, State.REJECTED, State.FAILED}),
    State.PROOF_RECEIVED: frozenset({State.VERIFYING}),
    State.VERIFYING: frozenset({State.PROOF_RECEIVED, State.VERIFIED, State.REJECTED, State.FAILED}),
    State.VERIFIED: frozenset(),
    State.REJECTED: frozenset(),
    # staff re-run (from the stage that failed), or the self-hosted participant's new attempt
    State.FAILED: frozenset({State.COMMITTED, State.PROOF_RECEIVED, State.PROVING}),
}

#: The states that may move to each state (TRANSITIONS read backwards).
SOURCES: dict[str, frozenset[str]] = {
    target: frozenset(source for source, targets in TRANSITIONS.items() if target in targets) for target in State
}

#: Running state of a platform job → (the waiting state it is claimed from and goes back to, stage
#: name, job name: dispatch.TASKS maps it to the Celery task and its queue).
STAGES = {
    State.PROVING: (State.COMMITTED, "proving", "prove"),
    State.VERIFYING: (State.PROOF_RECEIVED, "verifying", "verify"),
}

#: States whose hosted model is no longer needed (the vault sweep deletes it).
PAST_PROVING = frozenset({State.PROOF_RECEIVED, State.VERIFYING, State.VERIFIED, State.REJECTED})


def can_move(source: str, target: str) -> bool:
    """Whether `source` → `target` is a transition of the machine."""
    return target in TRANSITIONS.get(source, frozenset())


# ---------------------------------------------------------------- row-dependent rules (Q and predicate)

def is_final(entry: Any) -> bool:
    return entry.state in FINAL


def final_q() -> Q:
    return Q(state__in=FINAL)


def accepts_proof(entry: Any) -> bool:
    """A self-hosted entry takes a proof (and progress reports) while committed or proving, or after its
    own prover failed (timed out); a hosted entry never (the platform proves it)."""
    return entry.proof_mode == ProofMode.SELF_HOSTED and (
        entry.state in (State.COMMITTED, State.PROVING)
        or (entry.state == State.FAILED and entry.failed_stage == "proving"))


def accepts_proof_q() -> Q:
    return Q(proof_mode=ProofMode.SELF_HOSTED) & (
        Q(state__in=[State.COMMITTED, State.PROVING]) | Q(state=State.FAILED, failed_stage="proving"))


def is_platform_job(entry: Any) -> bool:
    """Running and held by a platform worker (a self-hosted entry's `proving` is its own prover's)."""
    return entry.state == State.VERIFYING or (entry.state == State.PROVING and entry.proof_mode == ProofMode.HOSTED)


def platform_job_q() -> Q:
    return Q(state=State.VERIFYING) | Q(state=State.PROVING, proof_mode=ProofMode.HOSTED)


def is_lapsed(entry: Any, now: datetime) -> bool:
    """A running platform job whose attempt is no longer alive: lease lapsed or missing, or past its
    hard deadline (the reaper re-queues it)."""
    lease, deadline = entry.lease_expires_at, entry.deadline_at
    return is_platform_job(entry) and (lease is None or lease < now or (deadline is not None and deadline < now))


def lapsed_q(now: datetime) -> Q:
    return platform_job_q() & (Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True) | Q(deadline_at__lt=now))


def is_platform_failure(entry: Any) -> bool:
    """`failed` through the platform's fault; a self-hosted entry whose own prover stopped is the participant's."""
    return entry.state == State.FAILED and not (
        entry.proof_mode == ProofMode.SELF_HOSTED and entry.failed_stage == "proving")


def platform_failure_q() -> Q:
    return Q(state=State.FAILED) & ~Q(proof_mode=ProofMode.SELF_HOSTED, failed_stage="proving")


def counts_against_limit(entry: Any, now: datetime) -> bool:
    """Whether the entry uses one of its participant's daily submissions: every entry but baselines,
    platform failures, and platform jobs stuck past their lease (the platform's side, until re-queued)."""
    return not (entry.is_baseline or is_platform_failure(entry) or is_lapsed(entry, now))


def counts_against_limit_q(now: datetime) -> Q:
    return Q(is_baseline=False) & ~platform_failure_q() & ~lapsed_q(now)


def can_retry(entry: Any) -> bool:
    """Staff may re-run a failed entry (a hosted one only while its model is still in the vault)."""
    return entry.state == State.FAILED and (
        entry.failed_stage == "verifying" or not (entry.proof_mode == ProofMode.HOSTED and not entry.vault_path))


def can_retry_q() -> Q:
    return Q(state=State.FAILED) & (Q(failed_stage="verifying") | ~Q(proof_mode=ProofMode.HOSTED, vault_path=""))


# ---------------------------------------------------------------- the QuerySet

class SubmissionQuerySet(models.QuerySet):
    """Submission.objects: the rules above as chainable filters, and `move`, the only way a state is
    written (a conditional UPDATE that refuses any transition not in TRANSITIONS)."""

    def final(self) -> "SubmissionQuerySet":
        return self.filter(final_q())

    def accepting_proof(self) -> "SubmissionQuerySet":
        return self.filter(accepts_proof_q())

    def platform_jobs(self) -> "SubmissionQuerySet":
        return self.filter(platform_job_q())

    def lapsed(self, now: datetime) -> "SubmissionQuerySet":
        return self.filter(lapsed_q(now))

    def counting_against_limit(self, now: datetime) -> "SubmissionQuerySet":
        return self.filter(counts_against_limit_q(now))

    def retryable(self) -> "SubmissionQuerySet":
        return self.filter(can_retry_q())

    def move(self, target: str, **fields) -> int:
        """UPDATE the rows of this queryset that may move to `target` (SOURCES) into it, writing
        `fields` too; returns the number of rows moved (0 when the state does not allow it)."""
        return self.filter(state__in=SOURCES[target]).update(state=target, **fields)


def rules_json(entry: Any, now: datetime) -> dict[str, Any]:
    """The rules as they apply to one entry, for the status JSON (the page's script and the prover
    client read these instead of re-deriving them from the state name)."""
    return {
        "final": is_final(entry),
        "accepts_proof": accepts_proof(entry),
        "counts_against_limit": counts_against_limit(entry, now),
    }
