"""Celery tasks: each one calls a service function (see services.py)."""
from celery import shared_task

from . import services

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="submissions.prove", **TASK_OPTIONS)
def prove(submission_id: int) -> str:
    """Hosted proving of one entry (queue: prove)."""
    return services.run_hosted_proving(submission_id)


@shared_task(name="submissions.verify", **TASK_OPTIONS)
def verify(submission_id: int) -> str:
    """Verification of one entry's proof (queue: verify)."""
    return services.run_verification(submission_id)


@shared_task(name="submissions.expire_stuck_jobs", **TASK_OPTIONS)
def expire_stuck_jobs() -> int:
    """Periodic (beat): running jobs past their deadline become failed."""
    return services.expire_stuck_jobs()


@shared_task(name="submissions.start_due_proving", **TASK_OPTIONS)
def start_due_proving() -> int:
    """Periodic (beat): queue hosted entries once their test set is revealed."""
    return services.start_due_proving()
