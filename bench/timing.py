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


def write_results(path, doc: dict) -> None:
    """Writes doc (plus the machine's description) as JSON, atomically, and says where."""
    import json
    import platform
    import sys
    doc = dict(doc, machine={"python": sys.version.split()[0], "platform": platform.platform(),
                             "processor": platform.machine()})
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)
    print(f"wrote {path}")
