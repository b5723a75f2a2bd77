"""Micro-benchmark of the Fr vector backends (zkml/frvec.py PyFrVec, zkml/frvec_native.py
NativeFrVec): ns per element for the prover's hot operations at n = 2^20 (median of 3 runs).
Writes bench/frvec_results.json and prints a table.

    python bench/bench_frvec.py [--log-n 20] [--runs 3]
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zkml import native  # noqa: E402
from zkml.arith.field import P  # noqa: E402
from zkml.arith.frvec import PyFrVec  # noqa: E402
from timing import median_time, write_results  # noqa: E402  (bench/ is the script's directory)


def cases(cls, n: int, rng: random.Random):
    """name -> (callable, number of elements it processes)."""
    ints = np.array([rng.randrange(P) for _ in range(n)], dtype=object)
    small = np.array([rng.randrange(-(1 << 40), 1 << 40) for _ in range(n)], dtype=np.int64)
    a = cls.from_ints(ints)
    b = cls.from_ints(np.roll(ints, 1))
    eq = cls.from_ints(ints[: n // 4])
    r, lam = rng.randrange(P), rng.randrange(P)
    return {
        "mul": (lambda: a.mul(b), n),
        "fold": (lambda: a.fold(r), n // 2),                     # per output element
        "gkr_round": (lambda: cls.gkr_round(eq, a, b, lam), n),  # per p (= q) entry
        "from_ints(int64)": (lambda: cls.from_ints(small), n),
        "from_ints(object)": (lambda: cls.from_ints(ints), n),
        "to_ints": (lambda: a.to_ints(), n),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-n", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "frvec_results.json")
    args = ap.parse_args()
    n = 1 << args.log_n
    backends = [PyFrVec]
    if native.load() is not None:
        from zkml.arith.frvec_native import NativeFrVec
        backends.append(NativeFrVec)
    else:
        print(f"native kernel unavailable: {native.load_error()}", file=sys.stderr)

    results: dict = {}
    for cls in backends:
        res = results[cls.name] = {}
        for name, (fn, count) in cases(cls, n, random.Random(0)).items():
            med, times = median_time(fn, args.runs)
            res[name] = {"ns_per_element": med / count * 1e9, "elements": count,
                         "seconds": times}
            print(f"  {cls.name:<7} {name:<18} {med / count * 1e9:10.1f} ns/element", file=sys.stderr)

    names = list(results[backends[0].name])
    header = f"{'operation':<18}" + "".join(f"{cls.name + ' ns/el':>16}" for cls in backends)
    if len(backends) == 2:
        header += f"{'speed-up':>10}"
    print(f"\nn = 2^{args.log_n}, median of {args.runs} runs")
    print(header)
    for name in names:
        vals = [results[cls.name][name]["ns_per_element"] for cls in backends]
        line = f"{name:<18}" + "".join(f"{v:16.1f}" for v in vals)
        if len(vals) == 2:
            line += f"{vals[0] / vals[1]:9.3g}x"
        print(line)

    write_results(args.out, {"n": n, "runs": args.runs, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
