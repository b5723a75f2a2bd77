"""ONNX import: sklearn (multi-class, binary, ZipMap), PyTorch export, hand-built graphs, errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import zkml_fixtures
from onnx import TensorProto, helper, numpy_helper

from zkml.errors import FormatError, UnsupportedModelError, ZkmlError
from zkml.frontend.onnx_import import load_float_mlp
from zkml.frontend.quantize import float_predict, quantize


def _ort_run(onx: bytes, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(onx, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})


def _graph(nodes, inits, in_shape=("N", 4), out_name="out", opset=17) -> bytes:
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))
    out = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", "C"])
    g = helper.make_graph(nodes, "g", [inp], [out],
                          [numpy_helper.from_array(np.asarray(v, np.float32)
                                                   if np.asarray(v).dtype.kind == "f"
                                                   else np.asarray(v), k)
                           for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    return m.SerializeToString()


def test_sklearn_multiclass_matches_onnxruntime(digits, digits_onnx):
    fm = load_float_mlp(digits_onnx)
    assert fm.input_shape == (64,) and fm.n_classes == 10
    assert [(l.weight.shape, l.relu) for l in fm.layers] == [((32, 64), True),
                                                            ((10, 32), False)]
    x = np.concatenate([digits[2], np.random.default_rng(0).uniform(0, 16, (500, 64))])
    label, proba = _ort_run(digits_onnx, x)
    assert np.array_equal(fm.predict(x), label)
    logits = fm.forward(x)
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    assert np.allclose(softmax / softmax.sum(1, keepdims=True), proba, atol=1e-5)


def test_zipmap_output_is_tolerated(digits):
    with_zip = load_float_mlp(zkml_fixtures.digits_mlp_onnx((32,), zipmap=True))
    without = load_float_mlp(zkml_fixtures.digits_mlp_onnx((32,), zipmap=False))
    for a, b in zip(with_zip.layers, without.layers):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
    bz = load_float_mlp(zkml_fixtures.digits_binary_mlp_onnx(zipmap=True))
    assert bz.n_classes == 2


def test_binary_form_maps_to_two_logits_and_matches_onnxruntime_labels(digits):
    onx = zkml_fixtures.digits_binary_mlp_onnx()
    fm = load_float_mlp(onx)
    assert fm.n_classes == 2
    last = fm.layers[-1]
    assert last.weight.shape[0] == 2 and not last.weight[0].any() and last.bias[0] == 0
    rng = np.random.default_rng(42)
    x = np.concatenate([digits[2], rng.uniform(0, 16, (3000, 64)),
                        rng.normal(8, 8, (1000, 64))]).astype(np.float32)
    label = _ort_run(onx, x)[0]
    ours = fm.predict(x)
    assert len(set(label.tolist())) == 2, "both classes should occur"
    assert np.array_equal(ours, label)
    assert np.array_equal(float_predict(onx, x), label)


def test_binary_zero_logit_tie_goes_to_class_zero(digits):
    onx = zkml_fixtures.digits_binary_mlp_onnx(zero_logit=True)
    x = digits[2][:50]
    label = _ort_run(onx, x)[0]
    assert np.all(label == 0)  # sigmoid(0) = 0.5 = 1 - 0.5: first maximum -> class 0
    fm = load_float_mlp(onx)
    assert np.all(fm.forward(x) == 0) and np.all(fm.predict(x) == 0)
    model = quantize(onx, digits[0])
    assert np.all(model.forward_int(model.quantize_input(x)) == 0)
    assert np.all(model.predict(x) == 0)


def test_torch_export(digits):
    onx = zkml_fixtures.torch_mlp_onnx()
    assert len(onx) < 50_000
    ops = [n.op_type for n in onnx.load_from_string(onx).graph.node]
    assert ops == ["Flatten", "Gemm", "Relu", "Gemm"]
    fm = load_float_mlp(onx)
    assert fm.input_shape == (1, 8, 8) and fm.n_classes == 10
    x = digits[2].reshape(-1, 1, 8, 8)
    logits = _ort_run(onx, x)[0]
    assert np.allclose(fm.forward(x), logits, atol=1e-4)
    assert np.array_equal(fm.predict(x), np.argmax(logits, 1))


def test_gemm_attributes_reshape_and_passthrough_ops():
    rng = np.random.default_rng(3)
    w1 = rng.normal(size=(4, 6))      # Gemm B without transB: [in, out]
    c1 = rng.normal(size=(1, 6))
    w2 = rng.normal(size=(5, 6))      # MatMul weight [in, out] transposed below
    b2 = rng.normal(size=(5,))
    w3 = rng.normal(size=(3, 5))      # Gemm with transB=1: [out, in]
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
        helper.make_node("Gemm", ["r", "w1", "c1"], ["g1"], name="gemm1", alpha=0.5, beta=2.0),
        helper.make_node("Relu", ["g1"], ["a1"], name="relu1"),
        helper.make_node("Dropout", ["a1"], ["d1"], name="drop"),
        helper.make_node("Identity", ["d1"], ["i1"], name="ident"),
        helper.make_node("Cast", ["i1"], ["c"], name="cast", to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["c", "w2t"], ["mm"], name="mm"),
        helper.make_node("Constant", [], ["b2"], name="const_b2",
                         value=numpy_helper.from_array(b2.astype(np.float32))),
        helper.make_node("Add", ["b2", "mm"], ["z2"], name="add2"),
        helper.make_node("Relu", ["z2"], ["a2"], name="relu2"),
        helper.make_node("Gemm", ["a2", "w3"], ["out"], name="gemm3", transB=1),
    ]
    inits = {"shape": np.array([0, -1], np.int64), "w1": w1, "c1": c1, "w2t": w2.T, "w3": w3}
    onx = _graph(nodes, inits, in_shape=("N", 2, 2))
    fm = load_float_mlp(onx)
    assert fm.input_shape == (2, 2) and fm.n_classes == 3
    x = rng.normal(size=(200, 2, 2)).astype(np.float32)
    ref = _ort_run(onx, x)[0]
    assert np.allclose(fm.forward(x), ref, atol=1e-4)

    # the same net with a trailing LogSoftmax, which is dropped
    nodes2 = nodes[:-1] + [helper.make_node("Gemm", ["a2", "w3"], ["g3"], name="gemm3",
                                            transB=1),
                           helper.make_node("LogSoftmax", ["g3"], ["out"], name="lsm", axis=1)]
    fm2 = load_float_mlp(_graph(nodes2, inits, in_shape=("N", 2, 2)))
    assert np.allclose(fm2.forward(x), ref, atol=1e-4)


def test_unsupported_operator_names_op_and_node():
    nodes = [helper.make_node("Gemm", ["x", "w1"], ["h"], name="fc1", transB=1),
             helper.make_node("Tanh", ["h"], ["t"], name="tanh1"),
             helper.make_node("Gemm", ["t", "w"], ["out"], name="fc", transB=1)]
    onx = _graph(nodes, {"w1": np.ones((8, 4)), "w": np.ones((3, 8))})
    with pytest.raises(UnsupportedModelError) as e:
        load_float_mlp(onx)
    assert "'Tanh'" in str(e.value) and "'tanh1'" in str(e.value)


@pytest.mark.parametrize("case", ["residual", "chain", "relu_logits", "single_logit",
                                  "classes", "transA"])
def test_unsupported_structures(case):
    rng = np.random.default_rng(0)
    inits = {"w": rng.normal(size=(4, 4)), "w2": rng.normal(size=(3, 2))}
    nodes = {
        "residual": [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
                     helper.make_node("Add", ["h", "x"], ["out"], name="skip")],
        "chain": [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
                  helper.make_node("MatMul", ["h", "w2"], ["out"], name="mm2")],
        "relu_logits": [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
                        helper.make_node("Relu", ["h"], ["out"], name="r")],
        "single_logit": [helper.make_node("MatMul", ["x", "w1"], ["out"], name="mm")],
        "transA": [helper.make_node("Gemm", ["x", "w"], ["out"], name="g", transA=1)],
    }.get(case)
    if case == "single_logit":
        inits["w1"] = rng.normal(size=(4, 1))
    if case == "classes":
        onx = _skl_with_classes()
    else:
        onx = _graph(nodes, inits)
    with pytest.raises(UnsupportedModelError) as e:
        load_float_mlp(onx)
    msg = str(e.value)
    expected = {"residual": "skip", "chain": "do not chain", "relu_logits": "ReLU on the logits",
                "single_logit": "at least 2", "classes": "0..n-1", "transA": "transA"}[case]
    assert expected in msg


def _skl_with_classes() -> bytes:
    """An sklearn MLP whose class labels are 1..10 instead of 0..9."""
    import warnings

    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.neural_network import MLPClassifier

    x, y, _, _ = zkml_fixtures.digits_split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(x[:200], y[:200] + 1)
    return to_onnx(clf, initial_types=[("input", FloatTensorType([None, 64]))],
                   options={id(clf): {"zipmap": False}}).SerializeToString()


@pytest.mark.parametrize("blob", [b"", b"not an onnx model", bytes(range(256)) * 4,
                                  b"\x08\x07\x12\x04junk\x3a\x05\xff\xff\xff\xff\xff"])
def test_malformed_bytes_raise_format_error(blob):
    with pytest.raises(FormatError):
        load_float_mlp(blob)


def test_truncated_model_raises_format_error(digits_onnx):
    for cut in (10, len(digits_onnx) // 3, len(digits_onnx) // 2, len(digits_onnx) - 7):
        with pytest.raises(ZkmlError):  # FormatError, or Unsupported when a prefix parses
            load_float_mlp(digits_onnx[:cut])
    with pytest.raises(FormatError):
        load_float_mlp(digits_onnx[: len(digits_onnx) // 2])


def test_missing_file_raises_format_error(tmp_path):
    with pytest.raises(FormatError):
        load_float_mlp(str(tmp_path / "missing.onnx"))
