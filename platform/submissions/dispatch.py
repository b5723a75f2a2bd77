"""Enqueue Celery tasks after the current transaction commits.

With a real broker the task goes to its queue (`prove` or `verify`). In eager mode
(no CELERY_BROKER_URL: the demo) it runs in a background thread of this process so
web requests return at once and the progress bar stays live.
"""
import contextlib
import logging
import threading
from typing import Iterator

from django.conf import settings
from django.db import connection, transaction

log = logging.getLogger(__name__)
_local = threading.local()


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """Do not enqueue anything inside this block (the caller runs the work itself)."""
    previous = getattr(_local, "off", False)
    _local.off = True
    try:
        yield
    finally:
        _local.off = previous


def _run_in_thread(task, submission_id: int) -> None:
    try:
        task.apply(args=(submission_id,))
    finally:
        connection.close()


def enqueue(task_name: str, submission_id: int) -> None:
    """Send `task_name`(submission_id) once the surrounding transaction commits."""
    if getattr(_local, "off", False):
        return

    def send() -> None:
        from . import tasks

        task = {"prove": tasks.prove, "verify": tasks.verify}[task_name]
        if settings.CELERY_TASK_ALWAYS_EAGER:
            threading.Thread(target=_run_in_thread, args=(task, submission_id), daemon=True).start()
        else:
            task.apply_async(args=(submission_id,))

    transaction.on_commit(send, robust=True)
