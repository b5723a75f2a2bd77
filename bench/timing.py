"""Shared by the kernel micro-benchmarks: the median of several timed calls."""
from __future__ import annotations

import statistics
import time


def median_time(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times
