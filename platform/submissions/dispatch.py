"""Enqueue Celery tasks after the current transaction commits.

Tasks are sent by name (`TASKS`), never by importing tasks.py: the services send work, the tasks
call the services, and neither imports the other's module through this one (tests check that
importing and using the services loads no `submissions.tasks`). With a real broker the message goes
to its queue (`prove` or `verify`, by CELERY_TASK_ROUTES). In eager mode (no CELERY_BROKER_URL: the
demo) the task, looked up by name in the Celery app's registry, runs in a background thread of this
process so web requests return at once and the progress bar stays live.
"""
import base64
import contextlib
import json
import logging
import threading
from typing import Iterator, Optional

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


#: job name (states.STAGES) → the name of the Celery task that runs it; each name is also its queue's
#: name in the broker (CELERY_TASK_ROUTES).
TASKS = {"prove": "submissions.prove", "verify": "submissions.verify"}


def _app():
    from proofboard.celery import app

    return app


def _registered(task_name: str):
    """The task named `task_name` from the app's registry. Outside a worker (eager mode: the demo)
    Celery has not autodiscovered the tasks yet; discover them as a worker does at start."""
    app = _app()
    if task_name not in app.tasks:
        app.autodiscover_tasks(["submissions"], force=True)
    return app.tasks[task_name]


def _run_in_thread(task_name: str, submission_id: int) -> None:
    try:
        _registered(task_name).apply(args=(submission_id,))
    finally:
        connection.close()


def send(job: str, submission_id: int) -> None:
    """Send the message of `job` ("prove" or "verify") for one entry now, by task name."""
    task_name = TASKS[job]
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_run_in_thread, args=(task_name, submission_id), daemon=True).start()
    else:
        _app().send_task(task_name, args=(submission_id,))


def enqueue(job: str, submission_id: int) -> None:
    """Send the message of `job` ("prove" or "verify") for one entry once the surrounding transaction
    commits.

    The row records when (`last_dispatched_at`, in the same transaction): the reaper re-sends a
    waiting job's message only when it is older than a lease and no longer in the broker's queue.
    """
    if getattr(_local, "off", False):
        return
    from .jobs import DbNow
    from .models import Submission

    Submission.objects.filter(pk=submission_id).update(last_dispatched_at=DbNow())

    transaction.on_commit(lambda: send(job, submission_id), robust=True)


QUEUES = TASKS  # queue: the task it carries


def queued_ids() -> Optional[dict[str, set[int]]]:
    """The submission ids with a message waiting in each queue ({"prove": {...}, "verify": {...}}),
    read from the Redis broker (kombu keeps a queue as a list, one per priority step); None when the
    broker cannot be inspected (not Redis, or unreachable): then nothing is re-sent on a guess.

    Messages a worker has taken but not acknowledged are not counted: those are running jobs (held by
    a lease) or the orphans of a dead worker, which the reaper handles through the lease.
    """
    url = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # Nothing waits in a queue in eager mode (the demo): a task starts in a thread at once and
        # claims its job, so a waiting job sent more than a lease ago lost its thread (a restart).
        return {queue: set() for queue in QUEUES}
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    found: dict[str, set[int]] = {queue: set() for queue in QUEUES}
    try:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            for queue, task_name in QUEUES.items():
                keys = [queue] + [f"{queue}\x06\x16{step}" for step in (3, 6, 9)]  # kombu's priority lists
                for key in keys:
                    for raw in client.lrange(key, 0, -1):
                        submission_id = _submission_of(raw, task_name)
                        if submission_id is not None:
                            found[queue].add(submission_id)
        finally:
            client.close()
    except redis.RedisError as exc:
        log.warning("cannot inspect the broker's queues: %s", exc)
        return None
    return found


def _submission_of(raw: bytes, task_name: str) -> Optional[int]:
    """The submission id a kombu/Celery (protocol 2) message carries, if it is `task_name`."""
    try:
        message = json.loads(raw)
        if message.get("headers", {}).get("task") != task_name:
            return None
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return int(args[0])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
