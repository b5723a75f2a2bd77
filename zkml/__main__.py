"""Command line: python -m zkml {quantize,commit,prove,verify} (see --help)."""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from zkml.errors import FormatError, ZkmlError
from zkml.memory import memory_argument


def _progress(stage: str, fraction: float) -> None:
    print(f"\r  {stage:<10} {fraction * 100:5.1f}%", end="", file=sys.stderr, flush=True)
    if fraction >= 1.0:
        print(file=sys.stderr)


def _load_calibration(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The calibration inputs x and, when the .npz has them, the labels y (optional here)."""
    import zipfile

    from zkml.formats.data import load_dataset, validate_arrays
    try:
        with zipfile.ZipFile(path) as zf:
            has_labels = "y.npy" in zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        has_labels = True  # let load_dataset explain what is wrong with the file
    if has_labels:
        cal = load_dataset(path)
        return cal.x, cal.y
    try:
        with np.load(path, allow_pickle=False) as f:
            x = f["x"]
    except KeyError:
        raise FormatError(f"calibration file {path} has no array 'x'") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise FormatError(f"calibration array 'x' is malformed: {e}") from None
    return validate_arrays(x, np.zeros(x.shape[0] if x.ndim else 0, np.int64)).x, None


def describe(model) -> str:
    """One line naming the layers, e.g. ``64->32->10 MLP`` or
    ``CNN 1x8x8 -> conv3x3 6x8x8 -> maxpool2x2 6x4x4 -> dense 10``."""
    if model.is_mlp:
        dims = [model.layers[0].in_dim] + [layer.out_dim for layer in model.layers]
        return f"{'->'.join(map(str, dims))} MLP"
    shapes = model.shapes()
    parts = ["x".join(map(str, shapes[0]))]
    for layer, shape in zip(model.layers, shapes[1:]):
        kernel = "" if layer.kind == "dense" else "x".join(map(str, layer.kernel))
        rq = layer.requant
        skip = "" if rq is None or rq.residual is None else f" (+ layer {rq.residual[0]})"
        if rq is not None and rq.projection is not None:
            skip = f" (+ 1x1 projection of layer {rq.projection.source})"
        parts.append(f"{layer.kind}{kernel} {'x'.join(map(str, shape))}{skip}")
    return "CNN " + " -> ".join(parts)


def cmd_quantize(args) -> int:
    from zkml.frontend.quantize import float_predict, quantize
    with open(args.model, "rb") as f:
        onnx_bytes = f.read()
    x, y = _load_calibration(args.calibration)
    model = quantize(onnx_bytes, x)
    model.save(args.out)
    print(f"quantized {describe(model)} ({model.parameter_count()} parameters) to {args.out}")
    float_pred = float_predict(onnx_bytes, x)
    int_pred = model.predict(x)
    if y is None:
        agree = float(np.mean(float_pred == int_pred))
        print(f"the calibration data has no labels (y): integer and float (onnxruntime) "
              f"predictions agree on {agree * 100:.2f}% of it")
        return 0
    float_acc = float(np.mean(float_pred == y))
    int_acc = float(np.mean(int_pred == y))
    print(f"accuracy on the calibration data: float (onnxruntime) {float_acc * 100:.2f}%, "
          f"integer {int_acc * 100:.2f}% (gap {(float_acc - int_acc) * 100:+.2f} pp)")
    return 0


def cmd_commit(args) -> int:
    from zkml.api import commit
    from zkml.formats.model import QuantizedModel
    model = QuantizedModel.load(args.model)
    commitment = commit(model)
    model.save(args.model)      # the opening belongs with the private model
    commitment.save(args.out)
    print(f"commitment written to {args.out}; opening stored in {args.model} (keep it private)")
    return 0


def cmd_prove(args) -> int:
    from zkml.api import prove
    from zkml.formats.data import load_dataset
    from zkml.formats.model import QuantizedModel
    model = QuantizedModel.load(args.model)
    dataset = load_dataset(args.dataset)
    start = time.perf_counter()
    shard_size = args.shard_size
    if shard_size is None:
        from zkml.memory import default_budget, plan
        budget = default_budget() if args.max_memory is None else args.max_memory or None
        shard_size, line = plan(model.architecture(), len(dataset), budget)
        if args.max_memory is not None or shard_size is not None:
            print(line)
    proof = prove(model, dataset, progress=None if args.quiet else _progress, context=args.context,
                  shard_size=shard_size)
    proof.save(args.out)
    data = proof.to_bytes()
    print(f"proved {proof.claimed_count}/{proof.n_samples} correct in {time.perf_counter() - start:.1f} s; "
          f"proof ({len(data) / 1024:.0f} KiB) written to {args.out}")
    return 0


def cmd_verify(args) -> int:
    from zkml.api import verify
    from zkml.formats.commitment import Commitment
    from zkml.formats.data import load_dataset
    from zkml.formats.proof import load_proof
    commitment = Commitment.load(args.commitment)
    dataset = load_dataset(args.dataset)
    proof = load_proof(args.proof)
    start = time.perf_counter()
    count = verify(commitment, dataset, proof, context=args.context)
    n = len(dataset)
    print(f"verified: {count}/{n} correct ({100.0 * count / n:.2f}%) in {time.perf_counter() - start:.2f} s")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number of samples, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of samples, not {value}")
    return value


CONTEXT_HELP = ("the string the proof is bound to (a platform entry's proof bundle names it, "
                "e.g. proofboard/<challenge>/<entry>); empty by default")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zkml",
                                     description="Zero-knowledge proofs of a quantized model's accuracy.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("quantize", help="quantize a float ONNX MLP or CNN into a private .zkm model file")
    p.add_argument("model")
    p.add_argument("--calibration", required=True, help=".npz with x (and optionally y, for the accuracy report)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_quantize)
    p = sub.add_parser("commit", help="commit to a model's weights (public COMMIT.json)")
    p.add_argument("model")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_commit)
    p = sub.add_parser("prove", help="prove the model's correct count on a dataset")
    p.add_argument("model")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--context", default="", help=CONTEXT_HELP)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--shard-size", type=_positive_int, default=None, metavar="SAMPLES",
                      help="prove SAMPLES samples at a time, one shard after the other (the prover's memory "
                           "is one shard's; the proof grows with the number of shards)")
    size.add_argument("--max-memory", type=memory_argument, default=None, metavar="SIZE",
                      help="choose the shard size so that the prover's estimated peak memory stays under SIZE "
                           "(e.g. 8G or 512M; one proof when the whole test set fits; 0: no limit). Default: "
                           "3/4 of this machine's memory")
    p.set_defaults(func=cmd_prove)
    p = sub.add_parser("verify", help="verify a proof; exit 0 only if it verifies")
    p.add_argument("--commitment", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--proof", required=True)
    p.add_argument("--context", default="", help=CONTEXT_HELP)
    p.set_defaults(func=cmd_verify)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ZkmlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except MemoryError:
        print("error: out of memory (the input is too large for this machine)", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug rather than bad input: still one line, and say so
        if os.environ.get("ZKML_TRACEBACK"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); this is a bug in zkml, "
              "run again with ZKML_TRACEBACK=1 to see where", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
