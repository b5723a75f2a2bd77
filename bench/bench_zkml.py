"""Benchmark of the four zkml steps: commit, prove, verify times, proof and commitment sizes,
peak RSS. Each case runs in a fresh subprocess per repetition (clean peak RSS); medians are
reported. Writes bench/results.json and prints a table.

    python bench/bench_zkml.py                      # digits (arkworks), tiny (py_ecc)
    python bench/bench_zkml.py --cases mnist --runs 1
    python bench/bench_zkml.py --cases digits-cnn,lenet-128 --runs 3   # lenet-128/256: small N, ~2 GiB

Each run also records the prover's time per stage (from its progress reports) and the
multiply-accumulates of one inference, for the cost per MAC.
"""
from __future__ import annotations

import argparse
import json
import os
import platform as std_platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = {
    # name: (description, backend, dims, n_samples)
    "digits": ("digits MLP 64-32-10 (sklearn), N=1797", "arkworks", None, 1797),
    "digits-pyecc": ("digits MLP 64-32-10 (sklearn), N=100, pure-Python py_ecc", "py_ecc", None, 100),
    "mnist": ("MNIST-shaped MLP 784-128-10 (synthetic int8 weights), N=10000", "arkworks", (784, 128, 10), 10000),
    "digits-cnn": ("digits CNN conv3x3x6-pool2-conv3x3x16-pool2-64-32-10 (synthetic), N=1797", "arkworks",
                   "digits-cnn", 1797),
    "lenet-128": ("LeNet-5 shape on 28x28 (synthetic), N=128", "arkworks", "lenet", 128),
    "lenet-256": ("LeNet-5 shape on 28x28 (synthetic), N=256", "arkworks", "lenet", 256),
    "lenet-1000": ("LeNet-5 shape on 28x28 (synthetic), N=1000", "arkworks", "lenet", 1000),
    "lenet-2000": ("LeNet-5 shape on 28x28 (synthetic), N=2000", "arkworks", "lenet", 2000),
    "lenet-10000": ("LeNet-5 shape on 28x28 (synthetic), N=10000", "arkworks", "lenet", 10000),
    # name: (..., shard size): proved in shards of that many samples (zkml prove --shard-size)
    "lenet-256-shards": ("LeNet-5 shape on 28x28 (synthetic), N=256, shards of 128 (a quick check)", "arkworks",
                         "lenet", 256, 128),
    "lenet-2048-shards": ("LeNet-5 shape on 28x28 (synthetic), N=2048, shards of 1024", "arkworks", "lenet",
                          2048, 1024),
    "lenet-10000-shards": ("LeNet-5 shape on 28x28 (synthetic), N=10000, shards of 1024", "arkworks", "lenet",
                           10000, 1024),
    "lenet-10000-shards2048": ("LeNet-5 shape on 28x28 (synthetic), N=10000, shards of 2048", "arkworks",
                               "lenet", 10000, 2048),
    "lenet-10000-shards4096": ("LeNet-5 shape on 28x28 (synthetic), N=10000, shards of 4096", "arkworks",
                               "lenet", 10000, 4096),
}


def _synthetic_cnn(kind: str, n: int):
    """A CNN with random int8 weights, per-layer multipliers sized so activations use their
    range, random [0, 1] inputs of the right shape; labels as in _synthetic_model."""
    import numpy as np

    from zkml.formats.model import ConvLayer, DenseLayer, MaxPoolLayer, QuantizedModel, Requant
    rng = np.random.default_rng(0)
    pool = MaxPoolLayer((2, 2), (2, 2), (0, 0, 0, 0))
    if kind == "digits-cnn":
        shape, spec = (1, 8, 8), [("conv", 6, 3, 1), pool, ("conv", 16, 3, 1), pool, 32, 10]
    else:
        shape, spec = (1, 28, 28), [("conv", 6, 5, 0), pool, ("conv", 16, 5, 0), pool, 120, 84, 10]
    model = QuantizedModel(shape, 1.0 / 127, 10, [], [])
    cur = shape
    for i, item in enumerate(spec):
        last = i == len(spec) - 1
        if item is pool:
            layer = pool
        elif isinstance(item, tuple):
            _, oc, k, p = item
            w = rng.integers(-40, 41, (oc, cur[0], k, k))
            layer = ConvLayer(w, rng.integers(-2000, 2000, oc), (1, 1), (p, p, p, p), Requant(1, 1))
        else:
            w = rng.integers(-40, 41, (item, int(np.prod(cur))))
            layer = DenseLayer(w, rng.integers(-2000, 2000, item), None if last else Requant(1, 1))
        model.layers.append(layer)
        model.scales.append(1.0)
        cur = layer.out_shape(cur)
    x = rng.random((n,) + shape, dtype=np.float32)
    # Requantize each hidden layer so that its calibration activations reach ~[0, 127].
    for i, layer in enumerate(model.layers[:-1]):
        if layer.requant is not None:
            z = model.hidden_int(model.quantize_input(x[:200]))[i][0]
            top = max(float(np.percentile(z, 99)), 1.0)
            model.layers[i].requant = Requant(max(1, int(round(127 / top * 2 ** 16))), 16)
    model.validate()
    y = model.predict(x)
    flip = rng.random(n) < 0.1
    y[flip] = (y[flip] + 1) % 10
    return model, x, y


def macs_per_sample(model) -> int:
    """Multiply-accumulates of one inference (dense: in x out; conv: out positions x kernel)."""
    import math
    total, shape = 0, tuple(model.input_shape)
    for layer in model.layers:
        out = layer.out_shape(shape)
        if layer.kind == "dense":
            total += layer.weight.size
        elif layer.kind == "conv":
            total += math.prod(out) * math.prod(layer.weight.shape[1:])
        shape = out
    return total


def _digits_model():
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier
    from skl2onnx import to_onnx

    import zkml
    d = load_digits()
    x, y = d.data.astype(np.float32), d.target.astype(np.int64)
    clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0, max_iter=400).fit(x[:1000], y[:1000])
    onnx_model = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}})
    return zkml.quantize(onnx_model.SerializeToString(), x[:1000]), x, y


def _synthetic_model(dims, n):
    """An MNIST-shaped integer model with random weights and synthetic [0, 1] inputs; labels
    are its own predictions with 10% flipped (the proof's cost does not depend on accuracy)."""
    import numpy as np

    from zkml.formats.model import DenseLayer, QuantizedModel, Requant
    rng = np.random.default_rng(0)
    layers = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        w = rng.integers(-20, 21, (b, a))
        bias = rng.integers(-1000, 1000, b)
        rq = Requant(200, 17) if i < len(dims) - 2 else None
        layers.append(DenseLayer(w, bias, rq))
    model = QuantizedModel((dims[0],), 1.0 / 127, dims[-1], layers, [1.0] * len(layers))
    x = rng.random((n, dims[0]), dtype=np.float32)
    y = model.predict(x)
    flip = rng.random(n) < 0.1
    y[flip] = (y[flip] + 1) % dims[-1]
    return model, x, y


def run_once(case: str) -> dict:
    """One repetition, in this process."""
    from zkml.arith import curve
    import zkml
    from zkml.formats.data import Dataset
    from zkml.memory import estimated_peak_bytes
    _desc, backend, dims, n, *shard_size = CASES[case]
    curve.set_backend(backend)
    if dims is None:
        model, x, y = _digits_model()
        x, y = x[:n], y[:n]
    elif isinstance(dims, str):
        model, x, y = _synthetic_cnn(dims, n)
    else:
        model, x, y = _synthetic_model(dims, n)
    data = Dataset(x, y)
    t0 = time.perf_counter()
    commitment = zkml.commit(model)
    t1 = time.perf_counter()
    marks = []
    proof = zkml.prove(model, data, progress=lambda stage, _f: marks.append((stage, time.perf_counter())),
                       shard_size=shard_size[0] if shard_size else None)
    t2 = time.perf_counter()
    stages: dict[str, float] = {}
    for (stage, start), (_, end) in zip(marks, marks[1:] + [("end", t2)]):
        stages[stage] = stages.get(stage, 0.0) + end - start
    count = zkml.verify(commitment, data, proof)
    t3 = time.perf_counter()
    assert count == proof.claimed_count
    return {"commit_s": t1 - t0, "prove_s": t2 - t1, "verify_s": t3 - t2,
            "proof_bytes": len(proof.to_bytes()), "commitment_bytes": len(commitment.to_bytes()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "estimated_peak_mb": estimated_peak_bytes(model.architecture(), n, shard_size[0] if shard_size else None)
            / (1 << 20),
            "count": count, "n": n, "shards": len(getattr(proof, "shards", [proof])),
            "macs_per_sample": macs_per_sample(model),
            "prove_ns_per_mac": (t2 - t1) * 1e9 / (n * macs_per_sample(model)),
            **{f"stage_{k}_s": v for k, v in stages.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default="digits,digits-pyecc")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_once(args.one)))
        return
    results = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    for case in args.cases.split(","):
        runs = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, __file__, "--one", case], capture_output=True, text=True,
                                 check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}
        results[case] = {"description": CASES[case][0], "backend": CASES[case][1], "runs": len(runs),
                         "median": med, "all": runs, "machine": f"{os.cpu_count()} cores, "
                         f"{std_platform.machine()}, Python {std_platform.python_version()}",
                         "date": time.strftime("%Y-%m-%d")}
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'case':<14}{'runs':>5}{'commit s':>10}{'prove s':>10}{'verify s':>10}{'proof KiB':>11}"
          f"{'commit KiB':>11}{'RSS MiB':>9}{'est. MiB':>9}{'ns/MAC':>8}  stages (s)")
    for case, r in results.items():
        m = r["median"]
        stages = " ".join(f"{k[6:-2]} {v:.1f}" for k, v in m.items() if k.startswith("stage_"))
        print(f"{case:<14}{r['runs']:>5}{m['commit_s']:>10.2f}{m['prove_s']:>10.2f}{m['verify_s']:>10.2f}"
              f"{m['proof_bytes'] / 1024:>11.0f}{m['commitment_bytes'] / 1024:>11.1f}{m['peak_rss_mb']:>9.0f}"
              f"{m.get('estimated_peak_mb', 0):>9.0f}{m.get('prove_ns_per_mac', 0):>8.0f}  {stages}")


if __name__ == "__main__":
    main()
