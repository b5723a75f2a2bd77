"""Celery tasks: each one calls a service function (worker.py, jobs.py).

Nothing imports this module but Celery (autodiscovery): the services send these tasks by name
(dispatch.TASKS), so there is no services → tasks → services import loop.

A prove/verify message for a job that is not waiting (running under a live lease, finished) does
nothing: the reaper, not the broker's redelivery, recovers jobs whose worker was lost.
"""
from celery import shared_task

from . import jobs, worker

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="submissions.prove", **TASK_OPTIONS)
def prove(submission_id: int) -> str:
    """Hosted proving of one entry (queue: prove)."""
    return worker.run_hosted_proving(submission_id)


@shared_task(name="submissions.verify", **TASK_OPTIONS)
def verify(submission_id: int) -> str:
    """Verification of one entry's proof (queue: verify)."""
    return worker.run_verification(submission_id)


@shared_task(name="submissions.reap_jobs", **TASK_OPTIONS)
def reap_jobs() -> dict:
    """Periodic (beat): re-queue jobs whose lease lapsed, re-send lost messages, cap attempts."""
    return jobs.reap()


@shared_task(name="submissions.sweep_vault", **TASK_OPTIONS)
def sweep_vault() -> int:
    """Periodic (beat, prove queue): delete hosted models the platform no longer needs."""
    return jobs.sweep_vault()
