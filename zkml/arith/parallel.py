"""Work spread over the machine's cores with threads. The compiled kernels (ctypes) and the
curve library release the GIL while they compute, so Python threads run them side by side.
ZKML_THREADS sets the number of threads (default: the number of cores, at most 8). Work that
holds the GIL (the verifier's point decoding and Python arithmetic) is split over forked
processes instead (fork_map)."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_pool: tuple[int, ThreadPoolExecutor] | None = None   # (pid that made it, pool)
_inside = threading.local()                             # set in the pool's own threads


def workers() -> int:
    env = os.environ.get("ZKML_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(os.cpu_count() or 1, 8))


def pmap(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """[fn(x) for x in items], in order, computed by the thread pool. Called from inside the
    pool (nested parallelism), it runs serially: waiting on the pool from the pool's own
    threads could deadlock."""
    global _pool
    items = list(items)
    n = workers()
    if len(items) < 2 or n == 1 or getattr(_inside, "active", False):
        return [fn(x) for x in items]
    if _pool is None or _pool[0] != os.getpid():   # a forked child (Celery) makes its own
        _pool = (os.getpid(), ThreadPoolExecutor(n, thread_name_prefix="zkml"))

    def marked(x):
        _inside.active = True
        return fn(x)
    return list(_pool[1].map(marked, items))


def fork_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """[fn(x) for x in items] in forked worker processes, one item each, at most workers() at a
    time; serially when there is one core or one item, when processes cannot fork, or inside a
    daemon process (a Celery worker may not have children). fn and its data reach the children
    through fork, so fn may be a closure; results must pickle."""
    import multiprocessing
    items = list(items)
    n = min(workers(), len(items))
    if (n < 2 or "fork" not in multiprocessing.get_all_start_methods()
            or multiprocessing.current_process().daemon):
        return [fn(x) for x in items]
    global _fork_job
    _fork_job = fn
    threads = str(max(1, workers() // n))
    with multiprocessing.get_context("fork").Pool(n, _fork_init, (threads,)) as pool:
        return pool.map(_fork_call, items, chunksize=1)


_fork_job: Callable | None = None


def _fork_init(threads: str) -> None:
    os.environ["ZKML_THREADS"] = threads        # the cores are shared among the processes


def _fork_call(x):
    return _fork_job(x)
