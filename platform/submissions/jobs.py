"""Running jobs: claims, leases, heartbeats and the reaper (see docs/platform.md, "Leases and recovery").

A platform job (hosted proving, verification) moves its entry from a waiting state into a running
state with a *claim*: one conditional UPDATE that succeeds only from the waiting state, and records
a fresh attempt token (`claimed_by`), a lease (`lease_expires_at`) and the attempt's hard deadline
(`deadline_at`). The attempt renews its lease with a heartbeat (a thread, plus every progress
report) and writes its result only while it still holds the claim (same token, same state).

The reaper (a beat task) puts a running job whose lease lapsed — its worker was killed, lost its
host or its database connection for good — back into its waiting state and re-sends its message,
at most `JOB_MAX_ATTEMPTS` attempts per stage, then marks it `failed` with the reason. It also
re-sends the message of a waiting job when the broker no longer holds it (a Redis restart without
persistence), and never a second message for a job whose message is still queued.

Whatever the broker redelivers, a message for a job whose lease is alive claims nothing, and an
attempt that lost its claim stops at its next progress report and writes nothing.
"""
import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Callable, Optional

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q
from django.db.models.functions import Now
from django.utils import timezone

from challenges.services import leaderboard_changed

from . import dispatch, states
from .models import Submission

log = logging.getLogger(__name__)
State = Submission.State
ProofMode = Submission.ProofMode

STAGES = states.STAGES  # running state: (waiting state it comes from and goes back to, stage, job name)
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


class LeaseLost(Exception):
    """This attempt no longer holds its job (the reaper re-queued it after its lease lapsed)."""


def db_retry(write: Callable[[], int]) -> int:
    """Run a database write; if the connection is dead (PostgreSQL restarted, the backend was
    terminated), run it once more on a fresh connection. Never inside a transaction (the caller's
    work would be lost with the old connection): there the error is raised as is."""
    try:
        return write()
    except TRANSIENT_DB_ERRORS:
        if connection.in_atomic_block:
            raise
        log.warning("database connection lost; retrying on a fresh connection")
        connection.close()
        return write()


platform_jobs = states.platform_job_q  # the rules live in states.py
lapsed = states.lapsed_q


class DbNow(Now):
    """The database server's clock at this statement (PostgreSQL's now() is the transaction's start).
    Leases are written and compared with one clock, the database's, whatever the workers' clocks say."""

    def as_postgresql(self, compiler, connection, **extra_context):
        return "STATEMENT_TIMESTAMP()", []


def db_time_in(seconds: float) -> ExpressionWrapper:
    """The database's clock plus `seconds`, as an expression for an UPDATE."""
    return ExpressionWrapper(DbNow() + timedelta(seconds=seconds), output_field=DateTimeField())


def database_now() -> datetime:
    """The database server's clock (the reaper compares leases with it)."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT STATEMENT_TIMESTAMP()")
        return cursor.fetchone()[0]


def _token() -> str:
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def claim(submission_id: int, running_state: str, timeout: float, scope: Q = Q()) -> Optional["Lease"]:
    """Move an entry from its waiting state into `running_state` under a fresh lease; None when the
    entry is not waiting (running under a live lease, finished, …): the message is then dropped."""
    waiting_state = STAGES[running_state][0]
    token = _token()
    updated = db_retry(lambda: Submission.objects.filter(scope, pk=submission_id, state=waiting_state).move(
        running_state, claimed_by=token, attempts=F("attempts") + 1,
        lease_expires_at=db_time_in(settings.JOB_LEASE_SECONDS), deadline_at=db_time_in(timeout),
        progress_stage="started", progress_percent=0, reason="", failed_stage="", updated_at=timezone.now(),
    ))
    return Lease(submission_id, running_state, token) if updated else None


class Lease:
    """The claim of one attempt on one job. Use as a context manager around the work: it renews the
    lease from a heartbeat thread (its own database connection) while the work runs."""

    def __init__(self, submission_id: int, running_state: str, token: str):
        self.submission_id = submission_id
        self.running_state = running_state
        self.token = token
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def held(self):
        """The job's row, while this attempt holds it."""
        return Submission.objects.filter(pk=self.submission_id, state=self.running_state, claimed_by=self.token)

    # ------------------------------------------------------------ heartbeat

    def renew(self, **fields) -> bool:
        """Extend the lease (and write `fields`, e.g. progress); False, and `lost` set, when the job
        is no longer held by this attempt. Retries once on a fresh connection."""
        if db_retry(lambda: self.held().update(lease_expires_at=db_time_in(settings.JOB_LEASE_SECONDS), **fields)):
            return True
        self.lost.set()
        return False

    def check(self) -> None:
        """Raise LeaseLost once the job was taken away from this attempt."""
        if self.lost.is_set():
            raise LeaseLost(f"submission {self.submission_id}: the lease of {self.token} was lost")

    def _heartbeat(self) -> None:
        try:
            while not self._stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    if not self.renew():
                        log.warning("submission %s: lease lost; stopping this attempt", self.submission_id)
                        return
                except DatabaseError as exc:  # still unreachable: try again at the next beat
                    log.warning("submission %s: heartbeat failed: %s", self.submission_id, exc)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> "Lease":
        # The heartbeat writes on its own connection, which sees only committed rows: inside an outer
        # transaction (the tests' non-transactional cases) the progress reports renew the lease alone.
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._heartbeat, daemon=True,
                                            name=f"lease-{self.submission_id}")
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    # ------------------------------------------------------------ progress and results

    def progress(self) -> Callable[[str, float], None]:
        """A throttled progress(stage, fraction) for zkml: writes the progress and renews the lease;
        raises LeaseLost (stopping the prover/verifier) once the job is no longer this attempt's.
        A database error does not stop the work: the heartbeat keeps the lease, the result is
        written on a fresh connection."""
        import time

        last = {"t": 0.0, "pct": -1, "stage": None}

        def report(stage: str, fraction: float) -> None:
            self.check()
            try:
                pct = int(max(0.0, min(1.0, float(fraction))) * 100)
            except (TypeError, ValueError):
                return
            t = time.monotonic()
            if stage == last["stage"] and (pct == last["pct"] or (t - last["t"] < 0.3 and pct < 100)):
                return
            last.update(t=t, pct=pct, stage=stage)
            try:
                held = self.renew(progress_stage=str(stage)[:80], progress_percent=pct)
            except DatabaseError as exc:
                log.warning("submission %s: progress not recorded: %s", self.submission_id, exc)
                return
            if not held:
                self.check()

        return report

    def update(self, **fields) -> bool:
        """Write fields while this attempt holds the job (fresh connection once if needed)."""
        return bool(db_retry(lambda: self.held().update(**fields)))

    def finish(self, **fields) -> bool:
        """Leave the running state (to proof_received, verified, rejected, failed); a no-op returning
        False if this attempt no longer holds the job."""
        fields.update(deadline_at=None, lease_expires_at=None, updated_at=timezone.now())
        target = fields.pop("state")
        if target == State.VERIFIED:
            done = bool(db_retry(lambda: self._finish_verified(fields)))
        else:
            done = bool(db_retry(lambda: self.held().move(target, **fields)))
        if not done:
            self.lost.set()
        return done

    def _finish_verified(self, fields: dict) -> int:
        """A new leaderboard row: the state and the challenge's board_version (which makes every cached
        leaderboard page stale) change in one transaction, so no reader sees one without the other."""
        with transaction.atomic():
            done = self.held().move(State.VERIFIED, **fields)
            if done:
                leaderboard_changed(submission_id=self.submission_id)
        return done

    def fail(self, stage: str, exc: BaseException) -> bool:
        """A platform-side failure (retryable by staff)."""
        log.error("submission %s: %s failed", self.submission_id, stage, exc_info=exc)
        return self.finish(state=State.FAILED, failed_stage=stage, progress_stage=f"{stage} failed",
                           reason=f"{stage} error: {type(exc).__name__}: {exc}"[:2000])

    def release(self, exc: BaseException) -> bool:
        """A transient failure (the database went away mid-job): give the job back to its queue at
        once, if the database answers; otherwise its lease lapses and the reaper re-queues it."""
        waiting, stage, task = STAGES[self.running_state]
        log.warning("submission %s: %s interrupted (%s); re-queued", self.submission_id, stage, exc)
        for _ in range(2):  # the second time on a fresh connection
            try:
                with transaction.atomic():
                    done = self.finish(state=waiting, claimed_by="", progress_stage="re-queued",
                                       reason=f"attempt interrupted ({type(exc).__name__}); re-queued"[:2000])
                    if done:
                        dispatch.enqueue(task, self.submission_id)
                return done
            except DatabaseError:
                connection.close()
        return False


# ---------------------------------------------------------------- the reaper

def reap(now: Optional[datetime] = None) -> dict[str, int]:
    """One pass of the reaper (beat, every JOB_REAPER_SECONDS); returns what it did.

    1. Running platform jobs whose lease lapsed (or past their hard deadline) go back to their queue;
       after JOB_MAX_ATTEMPTS attempts at the stage they become `failed` with the reason.
    2. Self-hosted entries whose own prover stopped reporting past the deadline become `failed`
       ("timed out": the participant's, so it counts towards the daily limit).
    3. Waiting jobs get their message (re-)sent when it was never sent, or was sent more than a lease
       ago and is no longer in the broker's queue. A job whose message is still queued gets nothing.
    """
    done = {"requeued": 0, "failed": 0, "timed_out": 0, "dispatched": 0}
    queued = dispatch.queued_ids()  # read before the rows: a message taken after this is counted as queued
    with transaction.atomic():
        if not _single_flight():
            return done
        now = now or database_now()
        for row in Submission.objects.filter(lapsed(now)).values("pk", "state", "claimed_by", "attempts",
                                                               "deadline_at"):
            waiting, stage, task = STAGES[row["state"]]
            timed_out = row["deadline_at"] is not None and row["deadline_at"] < now
            cause = "timed out" if timed_out else "the worker stopped renewing its lease: worker lost"
            still = Submission.objects.filter(lapsed(now), pk=row["pk"], state=row["state"],
                                              claimed_by=row["claimed_by"])
            clear = dict(claimed_by="", lease_expires_at=None, deadline_at=None, updated_at=now)
            if row["attempts"] >= settings.JOB_MAX_ATTEMPTS:
                if still.move(State.FAILED, failed_stage=stage, progress_stage=f"{stage} failed",
                                reason="timed out" if timed_out else
                                f"{stage} gave up after {row['attempts']} attempts ({cause})", **clear):
                    done["failed"] += 1
            elif still.move(waiting, progress_stage="re-queued", progress_percent=0,
                              reason=f"attempt {row['attempts']} re-queued ({cause})", **clear):
                dispatch.enqueue(task, row["pk"])
                done["requeued"] += 1
        done["timed_out"] = Submission.objects.filter(
            state=State.PROVING, proof_mode=ProofMode.SELF_HOSTED, deadline_at__lt=now,
        ).move(State.FAILED, failed_stage="proving", reason="timed out", deadline_at=None,
                 progress_stage="timed out", updated_at=now)
        stale = now - timedelta(seconds=settings.JOB_LEASE_SECONDS)
        waiting_jobs = {
            "prove": Submission.objects.filter(state=State.COMMITTED, proof_mode=ProofMode.HOSTED,
                                               challenge__reveal_at__lte=now, challenge__proving_deadline__gte=now),
            "verify": Submission.objects.filter(state=State.PROOF_RECEIVED),
        }
        for task, rows in waiting_jobs.items():
            for pk, last in rows.values_list("pk", "last_dispatched_at"):
                if last is None:
                    missing = True  # never sent (e.g. a hosted entry whose challenge was just revealed)
                else:  # sent a while ago and no longer queued (taken by a worker = claimed, not waiting)
                    missing = queued is not None and last < stale and pk not in queued[task]
                if missing:
                    dispatch.enqueue(task, pk)
                    done["dispatched"] += 1
    if any(done.values()):
        log.warning("reaper: %s", done)
    return done


def _single_flight() -> bool:
    """One reaper pass at a time across workers (a transaction-scoped PostgreSQL advisory lock)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [0x70726F6F66])  # "proof"
        return bool(cursor.fetchone()[0])


# ---------------------------------------------------------------- the vault

def sweep_vault(now: Optional[datetime] = None) -> int:
    """Delete hosted models the platform no longer needs (beat, on a prove worker: it reads the vault):
    those of entries past proving (proof received, verifying, verified, rejected), of entries failed
    more than FAILED_MODEL_RETENTION ago, and files no entry refers to (older than an hour, so a
    submission still being written keeps its file). Returns the number of files deleted."""
    from .vault import delete_vault_file, vault_dir

    now = now or timezone.now()
    past_proving = Q(state__in=states.PAST_PROVING)
    expired = Q(state=State.FAILED, updated_at__lt=now - timedelta(seconds=settings.FAILED_MODEL_RETENTION))
    deleted = 0
    for pk, name in Submission.objects.filter(past_proving | expired).exclude(vault_path="").values_list(
            "pk", "vault_path"):
        delete_vault_file(name)
        Submission.objects.filter(pk=pk, vault_path=name).update(vault_path="")
        deleted += 1
    files = {path.name: path for path in vault_dir().iterdir() if path.is_file()}
    referenced = set(Submission.objects.filter(vault_path__in=list(files)).values_list("vault_path", flat=True))
    old = now.timestamp() - 3600
    for name, path in files.items():
        if name not in referenced and path.stat().st_mtime < old:
            delete_vault_file(name)
            deleted += 1
    return deleted
