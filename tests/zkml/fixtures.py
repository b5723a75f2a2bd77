"""Shared test fixtures for zkml: small models trained once per process (functools cache).

Plain functions, importable from any test as ``zkml_fixtures`` (registered by
tests/zkml/conftest.py) — e.g. ``from zkml_fixtures import digits_mlp_onnx``.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).with_name("data")
TORCH_ONNX = DATA_DIR / "torch_digits_mlp.onnx"
N_TRAIN = 1000  # first 1000 digits for training and calibration, the remaining 797 for test


@functools.lru_cache(maxsize=None)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32), y.astype(np.int64)


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): float32 [N, 64] in [0, 16], int64 labels."""
    x, y = _digits()
    return (x[:N_TRAIN].copy(), y[:N_TRAIN].copy(), x[N_TRAIN:].copy(), y[N_TRAIN:].copy())


def _to_onnx(clf, n_features: int, zipmap: bool) -> bytes:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    options = None if zipmap else {id(clf): {"zipmap": False}}
    onx = to_onnx(clf, initial_types=[("input", FloatTensorType([None, n_features]))],
                  options=options)
    return onx.SerializeToString()


@functools.lru_cache(maxsize=None)
def _digits_mlp(hidden: tuple[int, ...], binary: bool, random_state: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, y_train, _, _ = digits_split()
    if binary:
        y_train = digits_binary_labels(y_train)
    clf = MLPClassifier(hidden_layer_sizes=hidden, random_state=random_state, max_iter=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train, y_train)
    return clf


def digits_binary_labels(y: np.ndarray) -> np.ndarray:
    """Two-class task on digits: 1 for digits >= 5, else 0."""
    return (np.asarray(y) >= 5).astype(np.int64)


@functools.lru_cache(maxsize=None)
def digits_mlp_onnx(hidden: tuple[int, ...] = (32,), zipmap: bool = False,
                    random_state: int = 0) -> bytes:
    """sklearn MLPClassifier trained on the first 1000 digits, exported with skl2onnx."""
    return _to_onnx(_digits_mlp(tuple(hidden), False, random_state), 64, zipmap)


@functools.lru_cache(maxsize=None)
def digits_binary_mlp_onnx(hidden: tuple[int, ...] = (16,), zipmap: bool = False,
                           zero_logit: bool = False) -> bytes:
    """The two-class skl2onnx form (one logit, Sigmoid, Sub, Concat).

    ``zero_logit`` zeroes the output layer so every logit is exactly 0 (the tie case).
    """
    import copy

    clf = _digits_mlp(tuple(hidden), True, 0)
    if zero_logit:
        clf = copy.deepcopy(clf)
        clf.coefs_[-1][:] = 0.0
        clf.intercepts_[-1][:] = 0.0
    return _to_onnx(clf, 64, zipmap)


def torch_mlp_onnx() -> bytes:
    """The committed PyTorch export (Flatten, Gemm transB=1, Relu, Gemm) of a 64-32-10 MLP
    taking [N, 1, 8, 8] digits images; regenerate with data/make_torch_fixture.py."""
    return TORCH_ONNX.read_bytes()


# The LeNet-shaped digits CNN exported four ways (data/make_torch_cnn_fixture.py):
# TorchScript opset 17 with / without constant folding, dynamo opset 18 with / without
# the ONNX optimizer.
TORCH_CNN_EXPORTS = ("legacy", "legacy_nofold", "dynamo", "dynamo_noopt")
# A second digits CNN (strided conv, pool before ReLU, bias-less conv, x.view(x.size(0), -1),
# BatchNorm1d) exported without folding, with dynamo opset 20 unoptimized, and with a
# static batch of 4.
TORCH_CNN_VARIANT_EXPORTS = ("variant_legacy_nofold", "variant_dynamo20_noopt",
                             "variant_dynamo_static")
# A digits CNN with average pooling (AvgPool2d(2), AdaptiveAvgPool2d(1)): TorchScript
# (AveragePool, GlobalAveragePool), dynamo opset 18 (ReduceMean) with / without optimizer.
TORCH_CNN_AVG_EXPORTS = ("avg_legacy", "avg_dynamo", "avg_dynamo_noopt")
# A digits CNN with a ResNet basic block (identity skip): TorchScript (BatchNormalization
# folded) and dynamo opset 18 without optimizer (BatchNormalization kept).
TORCH_CNN_RES_EXPORTS = ("res_legacy", "res_dynamo_noopt")
# A digits CNN with a downsampling ResNet block (projection shortcut: Conv 1x1 stride 2 and
# BatchNorm2d): TorchScript (folded) and dynamo opset 18 without optimizer (kept).
TORCH_CNN_PROJ_EXPORTS = ("proj_legacy", "proj_dynamo_noopt")


def torch_cnn_onnx(name: str = "legacy") -> bytes:
    """A committed PyTorch export of a digits CNN taking [N, 1, 8, 8] images;
    ``name`` is one of :data:`TORCH_CNN_EXPORTS` (the LeNet-shaped network: Conv, Relu,
    MaxPool, Conv, [BatchNormalization], Relu, MaxPool, Flatten/Reshape, Gemm, Relu, Gemm)
    or :data:`TORCH_CNN_VARIANT_EXPORTS`, :data:`TORCH_CNN_AVG_EXPORTS`,
    :data:`TORCH_CNN_RES_EXPORTS`, :data:`TORCH_CNN_PROJ_EXPORTS`."""
    if name not in (TORCH_CNN_EXPORTS + TORCH_CNN_VARIANT_EXPORTS + TORCH_CNN_AVG_EXPORTS
                    + TORCH_CNN_RES_EXPORTS + TORCH_CNN_PROJ_EXPORTS):
        raise ValueError(f"unknown export {name!r}")
    return (DATA_DIR / f"torch_digits_cnn_{name}.onnx").read_bytes()


def labelled_ints(model, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n random integer inputs of the model and labels: its predictions, every third one
    changed (some wrong predictions)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-127, 128, (n, model.input_dim))
    y = np.argmax(model.forward_int(x), axis=1)
    y[::3] = (y[::3] + 1) % model.n_classes
    return x, y


def check_proof_and_simulation(model, x, y, simulated_count: int) -> None:
    """An honest proof (through its bytes) verifies with the true count, and a simulated
    transcript (no weights, programmed challenges) with any count."""
    import random

    from zkml.formats.commitment import Commitment
    from zkml.formats.opening import commit
    from zkml.formats.proof import Proof
    from zkml.prover import prove_statement, simulate_statement
    from zkml.verifier import verify_statement

    com = Commitment.from_bytes(commit(model, random.Random(1)).to_bytes())
    proof = Proof.from_bytes(prove_statement(model, x, y, rng=random.Random(2)).to_bytes())
    assert verify_statement(com, x, y, proof) == int(np.sum(np.argmax(model.forward_int(x), axis=1) == y))
    sim, challenges = simulate_statement(com, x, y, simulated_count, rng=random.Random(3))
    assert verify_statement(com, x, y, sim, programmed_challenges=challenges) == simulated_count


def dense_logits(circuit, wit, layer: int) -> np.ndarray:
    """The last (dense) layer's logits from its input activations A<layer-1> as committed
    (joint layout), through its weight's columns (the input's grid layout): what a cheating
    prover recomputes after changing an earlier layer."""
    inp = circuit.spec(layer).inp
    a = inp.grid.pad(inp.real_part(wit[f"A{layer - 1}"].reshape(1 << circuit.s_vars, -1)))
    return (a @ wit[f"W{layer}"].reshape(-1, a.shape[1]).T + wit[f"b{layer}"]).ravel()


def forged_proof(model, x, y, tamper=None):
    """The real protocol (real prover, real Fiat–Shamir) on the honest witness changed by
    tamper(circuit, wit), which returns the count to claim: a cheating prover at the witness
    level."""
    import random

    from zkml.circuit import Circuit
    from zkml.formats.opening import load_opening
    from zkml.formats.proof import Proof, file_version
    from zkml.protocols.channel_prover import ProverChannel
    from zkml.prover import _run, compute_witness
    from zkml.statement import start_transcript, statement_digests

    arch = model.architecture()
    circuit = Circuit(arch, len(y))
    blinds, commitment_bytes = load_opening(model)
    wit, count = compute_witness(circuit, model, x, y)
    if tamper is not None:
        count = tamper(circuit, wit)
    digests = statement_digests(arch, commitment_bytes, x, y, "")
    ch = ProverChannel(start_transcript(digests, len(y), count))
    body = _run(ch, circuit, wit, (count, 0), dict(blinds), {}, x, y, lambda *a: None, random.Random(2))
    return Proof(count, len(y), body, digests, file_version(arch))


def tiny_model(d0=4, d1=3, classes=2, seed=0, shift=18):
    """A two-layer MLP with random int8 weights: the smallest model the proof system takes."""
    from zkml.formats.model import DenseLayer, QuantizedModel, Requant

    rng = np.random.default_rng(seed)
    return QuantizedModel((d0,), 0.1, classes, [
        DenseLayer(rng.integers(-127, 128, (d1, d0)), rng.integers(-500, 500, d1), Requant(300, shift)),
        DenseLayer(rng.integers(-127, 128, (classes, d1)), rng.integers(-500, 500, classes), None)],
        [1.0, 1.0])


def tiny_data(model, n=5, seed=0, wrong=1):
    """n random quantized inputs and labels, the first `wrong` of them mislabelled."""
    rng = np.random.default_rng(seed + 100)
    x = rng.integers(-127, 128, (n, model.input_dim))
    y = np.argmax(model.forward_int(x), axis=1)
    y[:wrong] = (y[:wrong] + 1) % model.n_classes
    return x, y
