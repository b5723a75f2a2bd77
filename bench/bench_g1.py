"""Micro-benchmark of G1 multi-scalar multiplication with small signed scalars, the prover's
Pedersen row commitments: µs per point of
  native     zkml/g1_native.msm_small (the compiled kernel zkml/native/g1.c)
  msm_ints   pedersen_prover.msm_ints on the arkworks backend (the path it replaces: positive and
             negative parts through the binding, scalar conversion included)
  multiexp   py_arkworks_bls12381 G1Point.multiexp_unchecked alone, on |s| with the Scalar
             objects made beforehand (the binding's own cost, a lower bound for msm_ints)
for n = 1024 and 8192 bases (the vector generators) and scalars uniform in
[-(2^b - 1), 2^b - 1] for b = 1, 8, 16 (median of 3 runs). Every native result is checked
against multiexp. Writes bench/g1_results.json and prints a table.

    python bench/bench_g1.py [--runs 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zkml import native  # noqa: E402
from zkml.arith import curve
from zkml.commitments import pedersen, pedersen_prover
from timing import median_time, write_results  # noqa: E402  (bench/ is the script's directory)

SIZES = (1024, 8192)
BITS = (1, 8, 16)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "g1_results.json")
    args = ap.parse_args()
    if native.load() is None:
        print(f"native kernel unavailable: {native.load_error()}", file=sys.stderr)
        return 1
    from zkml.arith import g1_native

    be = curve.set_backend("arkworks")
    G1, S = be._G1, be._S
    t0 = time.perf_counter()
    bases = pedersen_prover._native_vector_bases(max(SIZES))
    prepare_us = (time.perf_counter() - t0) / max(SIZES) * 1e6
    gens = pedersen.vector_generators(max(SIZES))

    results: dict = {}
    for n in SIZES:
        points = gens[:n]
        for bits in BITS:
            rng = np.random.default_rng(1000 * n + bits)
            top = (1 << bits) - 1
            scalars = rng.integers(-top, top + 1, n, dtype=np.int64)
            signs = np.where(scalars < 0, -1, 1)
            # multiexp: sum |s_i| (sign_i P_i), with the negated points and Scalars prepared
            pts = [p if s > 0 else -p for p, s in zip(points, signs)]
            mags = [S.from_le_bytes_mod_order(int(abs(v)).to_bytes(32, "little")) for v in scalars]
            pre = bases.prefix(n)
            out = {}
            want = be.to_affine_xy(G1.multiexp_unchecked(pts, mags))
            assert g1_native.msm_small(pre, n, scalars) == want, (n, bits)
            for name, fn in (("native", lambda: g1_native.msm_small(pre, n, scalars)),
                             ("msm_ints", lambda: pedersen_prover.msm_ints(points, scalars)),
                             ("multiexp", lambda: G1.multiexp_unchecked(pts, mags))):
                med, times = median_time(fn, args.runs)
                out[name] = {"us_per_point": med / n * 1e6, "seconds": times}
            results[f"n={n},bits={bits}"] = {"n": n, "bits": bits, **out}
            print(f"  n={n:<5} {bits:2}-bit  " + "  ".join(
                f"{k} {v['us_per_point']:.2f}" for k, v in out.items() if isinstance(v, dict)),
                file=sys.stderr)

    print(f"\nµs per point, median of {args.runs} runs (prepare: {prepare_us:.2f} µs/point, once)")
    print(f"{'n':>6} {'bits':>5} {'native':>9} {'msm_ints':>9} {'multiexp':>9} "
          f"{'vs msm_ints':>12} {'vs multiexp':>12}")
    for r in results.values():
        nat, mi, me = (r[k]["us_per_point"] for k in ("native", "msm_ints", "multiexp"))
        print(f"{r['n']:>6} {r['bits']:>5} {nat:9.2f} {mi:9.2f} {me:9.2f} "
              f"{mi / nat:11.2f}x {me / nat:11.2f}x")

    write_results(args.out, {"runs": args.runs, "prepare_us_per_point": prepare_us, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
