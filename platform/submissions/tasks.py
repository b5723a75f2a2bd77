"""Celery tasks: each one calls a service function (see services.py)."""
import math

from celery import shared_task

from . import services
from .models import Submission

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}
MAX_WAIT = 300  # seconds between re-checks of a job held by another attempt


def _run(task, run, submission_id: int, running_state: str) -> str:
    """Run a job under this task's id. A redelivered message (same task id, e.g. after its worker
    was killed) re-claims the job at once. A job held by another attempt with a live deadline is
    re-checked later (retry) instead of dropping the message, so it is picked up once that attempt
    finishes or its deadline passes."""
    request = task.request
    outcome = run(submission_id, task_id=None if request.is_eager else request.id)
    if outcome == "skipped" and not request.is_eager:
        remaining = services.held_for(submission_id, running_state)
        if remaining:
            raise task.retry(countdown=min(math.ceil(remaining) + 1, MAX_WAIT), max_retries=None)
    return outcome


@shared_task(bind=True, name="submissions.prove", **TASK_OPTIONS)
def prove(self, submission_id: int) -> str:
    """Hosted proving of one entry (queue: prove)."""
    return _run(self, services.run_hosted_proving, submission_id, Submission.State.PROVING)


@shared_task(bind=True, name="submissions.verify", **TASK_OPTIONS)
def verify(self, submission_id: int) -> str:
    """Verification of one entry's proof (queue: verify)."""
    return _run(self, services.run_verification, submission_id, Submission.State.VERIFYING)


@shared_task(name="submissions.expire_stuck_jobs", **TASK_OPTIONS)
def expire_stuck_jobs() -> int:
    """Periodic (beat): running jobs past their deadline become failed."""
    return services.expire_stuck_jobs()


@shared_task(name="submissions.start_due_proving", **TASK_OPTIONS)
def start_due_proving() -> int:
    """Periodic (beat): queue hosted entries once their test set is revealed."""
    return services.start_due_proving()
