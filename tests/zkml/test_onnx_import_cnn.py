"""ONNX import of convolutional networks: Conv / MaxPool / BatchNormalization / reshapes built
with onnx.helper and compared with onnxruntime, the PyTorch exports, and the refusals."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import zkml_fixtures
from onnx import TensorProto, helper, numpy_helper

from zkml.errors import UnsupportedModelError
from zkml.frontend.onnx_import import FloatConv, FloatMaxPool, load_float_net
from zkml.frontend.quantize import quantize

RNG_SEED = 7


def _ort_run(onx: bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(onx, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]


def _model(nodes, inits, in_shape, opset=17, out_name="out") -> bytes:
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))
    out = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", "C"])
    tensors = [numpy_helper.from_array(v.astype(np.float32) if v.dtype.kind == "f" else v, k)
               for k, v in inits.items()]
    g = helper.make_graph(nodes, "g", [inp], [out], tensors)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def _head(src: str, features: int, rng, inits: dict, classes: int = 3) -> list:
    """Flatten -> Gemm(transB) -> out, the dense classifier on top of a conv stack."""
    inits["fc_w"] = rng.normal(size=(classes, features))
    inits["fc_b"] = rng.normal(size=classes)
    return [helper.make_node("Flatten", [src], ["flat"], name="flatten"),
            helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["out"], name="fc", transB=1)]


def _check_matches_onnxruntime(onx: bytes, in_shape: tuple, n: int = 64):
    fm = load_float_net(onx)
    x = np.random.default_rng(RNG_SEED).normal(size=(n, *in_shape)).astype(np.float32)
    ref = _ort_run(onx, x)
    got = fm.forward(x)
    assert got.shape == ref.shape
    assert np.allclose(got, ref, atol=1e-4, rtol=1e-5), float(np.abs(got - ref).max())
    return fm


CONV_CASES = {
    # name: (kernel, attributes, expected (top, left, bottom, right))
    "3x3_pad1": ((3, 3), dict(pads=[1, 1, 1, 1]), (1, 1, 1, 1)),
    "asymmetric_pads_stride": ((2, 3), dict(pads=[0, 1, 1, 0], strides=[2, 1]), (0, 1, 1, 0)),
    "5x5_stride2": ((5, 5), dict(pads=[2, 2, 2, 2], strides=[2, 2]), (2, 2, 2, 2)),
    "same_upper": ((3, 2), dict(auto_pad="SAME_UPPER", strides=[2, 2]), (1, 0, 1, 1)),
    "same_lower": ((3, 2), dict(auto_pad="SAME_LOWER", strides=[2, 2]), (1, 1, 1, 0)),
    "same_upper_even": ((4, 4), dict(auto_pad="SAME_UPPER"), (1, 1, 2, 2)),
    "same_lower_even": ((4, 4), dict(auto_pad="SAME_LOWER"), (2, 2, 1, 1)),
    "valid": ((3, 3), dict(auto_pad="VALID", strides=[1, 2]), (0, 0, 0, 0)),
    "notset_default": ((1, 1), dict(auto_pad="NOTSET"), (0, 0, 0, 0)),
    "no_bias": ((3, 3), dict(pads=[1, 0, 1, 0]), (1, 0, 1, 0)),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv_variants_match_onnxruntime(case):
    kernel, attrs, pads = CONV_CASES[case]
    rng = np.random.default_rng(1)
    in_shape = (2, 7, 5)     # odd and non-square, so SAME padding is asymmetric somewhere
    inits = {"k": rng.normal(size=(4, 2, *kernel))}
    conv_in = ["x", "k"] if case == "no_bias" else ["x", "k", "kb"]
    if case != "no_bias":
        inits["kb"] = rng.normal(size=4)
    nodes = [helper.make_node("Conv", conv_in, ["c"], name="conv", **attrs),
             helper.make_node("Relu", ["c"], ["r"], name="relu")]
    strides = attrs.get("strides", [1, 1])
    oh = (in_shape[1] + pads[0] + pads[2] - kernel[0]) // strides[0] + 1
    ow = (in_shape[2] + pads[1] + pads[3] - kernel[1]) // strides[1] + 1
    nodes += _head("r", 4 * oh * ow, rng, inits)
    onx = _model(nodes, inits, ["N", *in_shape])
    fm = _check_matches_onnxruntime(onx, in_shape)
    conv = fm.layers[0]
    assert isinstance(conv, FloatConv) and conv.relu
    assert conv.pads == pads and conv.stride == tuple(strides)
    assert fm.input_shape == in_shape and fm.n_classes == 3

    # the integer model carries the same geometry and mostly agrees with the float one
    x = np.random.default_rng(2).normal(size=(300, *in_shape)).astype(np.float32)
    model = quantize(onx, x)
    assert model.layers[0].kind == "conv" and model.layers[0].pads == pads
    assert model.shapes()[1] == (4, oh, ow)
    assert np.mean(model.predict(x) == fm.predict(x)) >= 0.9


POOL_CASES = {
    # name: (attributes, expected (kernel, stride, pads))
    "k2_s2": (dict(kernel_shape=[2, 2], strides=[2, 2]), ((2, 2), (2, 2), (0, 0, 0, 0))),
    "k3_s2_pad1": (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                   ((3, 3), (2, 2), (1, 1, 1, 1))),
    "k3_s1": (dict(kernel_shape=[3, 3]), ((3, 3), (1, 1), (0, 0, 0, 0))),
    "k2_s1_asym": (dict(kernel_shape=[2, 2], pads=[0, 0, 1, 1]), ((2, 2), (1, 1), (0, 0, 1, 1))),
    "k3_same_upper": (dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
                      ((3, 3), (2, 2), (1, 1, 1, 1))),
    "k2_same_lower": (dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_LOWER"),
                      ((2, 2), (2, 2), (1, 1, 0, 0))),
    "k4_s3_rect": (dict(kernel_shape=[4, 2], strides=[3, 2], pads=[1, 0, 2, 1]),
                   ((4, 2), (3, 2), (1, 0, 2, 1))),
}


@pytest.mark.parametrize("relu_first", [True, False], ids=["conv_relu_pool", "conv_pool_relu"])
@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_maxpool_variants_match_onnxruntime(case, relu_first):
    attrs, (kernel, stride, pads) = POOL_CASES[case]
    rng = np.random.default_rng(3)
    in_shape = (1, 9, 7)
    inits = {"k": rng.normal(size=(3, 1, 3, 3)), "kb": rng.normal(size=3)}
    conv = helper.make_node("Conv", ["x", "k", "kb"], ["c"], name="conv", pads=[1, 1, 1, 1])
    if relu_first:
        nodes = [conv, helper.make_node("Relu", ["c"], ["r"], name="relu"),
                 helper.make_node("MaxPool", ["r"], ["p"], name="pool", **attrs)]
        last = "p"
    else:
        nodes = [conv, helper.make_node("MaxPool", ["c"], ["p"], name="pool", **attrs),
                 helper.make_node("Relu", ["p"], ["r"], name="relu")]
        last = "r"
    oh = (9 + pads[0] + pads[2] - kernel[0]) // stride[0] + 1
    ow = (7 + pads[1] + pads[3] - kernel[1]) // stride[1] + 1
    nodes += _head(last, 3 * oh * ow, rng, inits)
    onx = _model(nodes, inits, ["N", *in_shape])
    fm = _check_matches_onnxruntime(onx, in_shape)
    assert [l.kind for l in fm.layers] == ["conv", "maxpool", "dense"]
    assert fm.layers[0].relu, "the Relu belongs to the convolution, before or after the pool"
    pool = fm.layers[1]
    assert isinstance(pool, FloatMaxPool)
    assert (pool.kernel, pool.stride, pool.pads) == (kernel, stride, pads)
    x = np.random.default_rng(4).normal(size=(200, *in_shape)).astype(np.float32)
    model = quantize(onx, x)
    assert [l.kind for l in model.layers] == ["conv", "maxpool", "dense"]
    assert model.layers[1].pads == pads and model.scales[1] == model.scales[0]


AVG_CASES = {
    # name: (operator, attributes, expected (kernel, stride, pads)); input 3 x 9 x 7
    "k2_s2": ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2]),
              ((2, 2), (2, 2), (0, 0, 0, 0))),
    "k3_s1_counted_pads": ("AveragePool", dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                               count_include_pad=1),
                           ((3, 3), (1, 1), (1, 1, 1, 1))),
    "k3x2_same_upper": ("AveragePool", dict(kernel_shape=[3, 2], strides=[2, 2],
                                            auto_pad="SAME_UPPER", count_include_pad=1),
                        ((3, 2), (2, 2), (1, 0, 1, 1))),
    "k4_s5": ("AveragePool", dict(kernel_shape=[4, 4], strides=[5, 5]),
              ((4, 4), (5, 5), (0, 0, 0, 0))),
    "global": ("GlobalAveragePool", {}, ((9, 7), (1, 1), (0, 0, 0, 0))),
    "reduce_mean_keepdims": ("ReduceMean", dict(keepdims=1), ((9, 7), (1, 1), (0, 0, 0, 0))),
    "reduce_mean_flat": ("ReduceMean", dict(keepdims=0), ((9, 7), (1, 1), (0, 0, 0, 0))),
}


@pytest.mark.parametrize("case", sorted(AVG_CASES))
def test_average_pooling_variants_match_onnxruntime(case):
    op, attrs, (kernel, stride, pads) = AVG_CASES[case]
    rng = np.random.default_rng(12)
    inits = {"k": rng.normal(size=(3, 1, 3, 3)), "kb": rng.normal(size=3)}
    pool_in = ["r"]
    if op == "ReduceMean":
        inits["axes"] = np.array([-1, 2], np.int64)   # negative axes are normalised
        pool_in.append("axes")
    nodes = [helper.make_node("Conv", ["x", "k", "kb"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node(op, pool_in, ["p"], name="pool", **attrs)]
    oh = (9 + pads[0] + pads[2] - kernel[0]) // stride[0] + 1
    ow = (7 + pads[1] + pads[3] - kernel[1]) // stride[1] + 1
    if case == "reduce_mean_flat":  # already [N, C]: straight into the dense layer
        inits["fc_w"] = rng.normal(size=(3, 3))
        nodes.append(helper.make_node("Gemm", ["p", "fc_w"], ["out"], name="fc", transB=1))
    else:
        nodes += _head("p", 3 * oh * ow, rng, inits)
    onx = _model(nodes, inits, ["N", 1, 9, 7], opset=18)
    fm = _check_matches_onnxruntime(onx, (1, 9, 7))
    assert [l.kind for l in fm.layers] == ["conv", "avgpool", "dense"]
    pool = fm.layers[1]
    assert (pool.kernel, pool.stride, pool.pads) == (kernel, stride, pads)
    x = np.random.default_rng(4).normal(size=(200, 1, 9, 7)).astype(np.float32)
    model = quantize(onx, x)
    assert [l.kind for l in model.layers] == ["conv", "avgpool", "dense"]
    assert (model.layers[1].kernel, model.layers[1].pads) == (kernel, pads)
    assert model.scales[1] == model.scales[0]
    assert np.mean(model.predict(x) == fm.predict(x)) >= 0.9


RESIDUAL_CASES = ("conv_bn_block", "skip_through_pool", "dense_block", "skip_first_operand")


@pytest.mark.parametrize("case", RESIDUAL_CASES)
def test_residual_blocks_match_onnxruntime(case):
    rng = np.random.default_rng(13)
    bn = {"gamma": rng.uniform(0.5, 2, 4), "beta": rng.normal(size=4),
          "mean": rng.normal(size=4), "var": rng.uniform(0.2, 2, 4)}
    inits = {"k1": rng.normal(size=(4, 1, 3, 3)), "k2": rng.normal(size=(4, 4, 3, 3)) * 0.3,
             "k3": rng.normal(size=(4, 4, 3, 3)) * 0.3, **bn}
    stem = [helper.make_node("Conv", ["x", "k1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c1"], ["r1"], name="relu1")]
    if case == "dense_block":   # an MLP residual block: Gemm, Relu, Gemm, + skip, Relu
        inits = {"w1": rng.normal(size=(6, 10)), "w2": rng.normal(size=(6, 6)) * 0.3,
                 "w3": rng.normal(size=(3, 6))}
        nodes = [helper.make_node("Gemm", ["x", "w1"], ["h1"], name="fc1", transB=1),
                 helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
                 helper.make_node("Gemm", ["a1", "w2"], ["h2"], name="fc2", transB=1),
                 helper.make_node("Add", ["h2", "a1"], ["s"], name="skip"),
                 helper.make_node("Relu", ["s"], ["a2"], name="relu2"),
                 helper.make_node("Gemm", ["a2", "w3"], ["out"], name="fc3", transB=1)]
        in_shape, kinds, residual = (10,), ["dense", "dense", "dense"], (None, 1, None)
    else:
        src = "r1"
        if case == "skip_through_pool":
            stem.append(helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1",
                                         kernel_shape=[2, 2], strides=[2, 2]))
            src = "p1"
        first, second = ("c3", src) if case != "skip_first_operand" else (src, "c3")
        nodes = stem + [
            helper.make_node("Conv", [src, "k2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["c2", "gamma", "beta", "mean", "var"], ["n2"],
                             name="bn2"),
            helper.make_node("Relu", ["n2"], ["r2"], name="relu2"),
            helper.make_node("Conv", ["r2", "k3"], ["c3"], name="conv3", pads=[1, 1, 1, 1]),
            helper.make_node("Add", [first, second], ["s"], name="skip"),
            helper.make_node("Relu", ["s"], ["r3"], name="relu3")]
        side = 3 if case == "skip_through_pool" else 6
        nodes += _head("r3", 4 * side * side, rng, inits)
        in_shape = (1, 6, 6)
        if case == "skip_through_pool":
            kinds, residual = ["conv", "maxpool", "conv", "conv", "dense"], (None, None, None, 2, None)
        else:
            kinds, residual = ["conv", "conv", "conv", "dense"], (None, None, 1, None)
    onx = _model(nodes, inits, ["N", *in_shape], opset=15)
    fm = _check_matches_onnxruntime(onx, in_shape, n=200)
    assert [l.kind for l in fm.layers] == kinds
    assert tuple(getattr(l, "residual", None) for l in fm.layers) == residual
    x = np.random.default_rng(14).normal(size=(300, *in_shape)).astype(np.float32)
    model = quantize(onx, x)
    got = [None if l.requant is None or l.requant.residual is None else l.requant.residual[0]
           for l in model.layers]
    assert tuple(got) == residual
    assert np.mean(model.predict(x) == fm.predict(x)) >= 0.9


def test_relu_before_or_after_pool_gives_the_same_model():
    def build(relu_first: bool) -> bytes:
        rng = np.random.default_rng(5)
        inits = {"k": rng.normal(size=(2, 1, 3, 3))}
        conv = helper.make_node("Conv", ["x", "k"], ["c"], name="conv")
        relu_in, pool_in, last = ("c", "r", "p") if relu_first else ("p", "c", "r")
        nodes = [conv, helper.make_node("Relu", [relu_in], ["r"], name="relu"),
                 helper.make_node("MaxPool", [pool_in], ["p"], name="pool", kernel_shape=[2, 2],
                                  strides=[2, 2])]
        if not relu_first:
            nodes = [nodes[0], nodes[2], nodes[1]]  # keep the node order topological
        return _model(nodes + _head(last, 2 * 3 * 3, rng, inits), inits, ["N", 1, 8, 8])

    x = np.random.default_rng(6).normal(size=(100, 1, 8, 8)).astype(np.float32)
    a, b = build(True), build(False)
    assert a != b
    assert quantize(a, x).to_bytes() == quantize(b, x).to_bytes()


def test_batchnorm_is_folded_into_conv_and_gemm():
    rng = np.random.default_rng(8)
    in_shape = (2, 6, 6)
    inits = {"k": rng.normal(size=(5, 2, 3, 3)), "kb": rng.normal(size=5),
             "s1": rng.uniform(0.5, 2, 5), "b1": rng.normal(size=5),
             "m1": rng.normal(size=5), "v1": rng.uniform(0.1, 3, 5),
             "k2": rng.normal(size=(4, 5, 3, 3)),  # second conv without bias
             "s2": rng.uniform(0.5, 2, 4), "b2": rng.normal(size=4),
             "m2": rng.normal(size=4), "v2": rng.uniform(0.1, 3, 4),
             "w3": rng.normal(size=(8, 4 * 3 * 3)), "c3": rng.normal(size=8),
             "s3": rng.uniform(0.5, 2, 8), "b3": rng.normal(size=8),
             "m3": rng.normal(size=8), "v3": rng.uniform(0.1, 3, 8),
             "w4": rng.normal(size=(3, 8))}
    nodes = [
        helper.make_node("Conv", ["x", "k", "kb"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "s1", "b1", "m1", "v1"], ["n1"],
                         name="bn1", epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "k2"], ["c2"], name="conv2", strides=[2, 2], pads=[1, 1, 0, 0]),
        helper.make_node("BatchNormalization", ["c2", "s2", "b2", "m2", "v2"], ["n2"], name="bn2"),
        helper.make_node("MaxPool", ["n2"], ["p2"], name="pool", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["p2"], ["r2"], name="relu2"),
        helper.make_node("Flatten", ["r2"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w3", "c3"], ["g3"], name="fc1", transB=1),
        helper.make_node("BatchNormalization", ["g3", "s3", "b3", "m3", "v3"], ["n3"], name="bn3"),
        helper.make_node("Relu", ["n3"], ["r3"], name="relu3"),
        helper.make_node("Gemm", ["r3", "w4"], ["out"], name="fc2", transB=1),
    ]
    onx = _model(nodes, inits, ["N", *in_shape], opset=15)
    fm = _check_matches_onnxruntime(onx, in_shape, n=200)
    assert [l.kind for l in fm.layers] == ["conv", "conv", "maxpool", "dense", "dense"]
    assert [l.relu for l in fm.layers] == [True, True, False, True, False]  # pool: no own ReLU
    # folding is exact algebra: the folded conv equals conv then BN on its own
    gain = inits["s1"] / np.sqrt(inits["v1"] + 1e-3)
    assert np.allclose(fm.layers[0].weight, inits["k"] * gain[:, None, None, None])
    assert np.allclose(fm.layers[0].bias, (inits["kb"] - inits["m1"]) * gain + inits["b1"])


def test_conv_bias_as_add_and_static_batch_reshapes():
    """Conv without bias + Add([1, C, 1, 1]), then Reshape to [batch, -1] with a static batch."""
    rng = np.random.default_rng(9)
    inits = {"k": rng.normal(size=(3, 1, 2, 2)), "b": rng.normal(size=(1, 3, 1, 1)),
             "shape": np.array([5, -1], np.int64), "w": rng.normal(size=(4, 3 * 4 * 4))}
    nodes = [helper.make_node("Conv", ["x", "k"], ["c"], name="conv", strides=[2, 2]),
             helper.make_node("Add", ["c", "b"], ["cb"], name="bias"),
             helper.make_node("Relu", ["cb"], ["r"], name="relu"),
             helper.make_node("Reshape", ["r", "shape"], ["f"], name="view"),
             helper.make_node("Gemm", ["f", "w"], ["out"], name="fc", transB=1)]
    onx = _model(nodes, inits, [5, 1, 8, 8])
    fm = load_float_net(onx)
    x = np.random.default_rng(1).normal(size=(5, 1, 8, 8)).astype(np.float32)
    assert np.allclose(fm.forward(x), _ort_run(onx, x), atol=1e-4)
    assert np.allclose(fm.layers[0].bias, inits["b"].reshape(-1))


@pytest.mark.parametrize("form", ["flatten", "reshape_minus1_first", "reshape_0_minus1",
                                  "legacy_shape_gather", "dynamo_shape_slice", "input_reshape"])
def test_reshape_forms_between_conv_and_dense(form):
    rng = np.random.default_rng(10)
    inits = {"k": rng.normal(size=(4, 1, 3, 3)), "w": rng.normal(size=(3, 4 * 3 * 3))}
    in_shape = ["N", 1, 8, 8]
    first = ["x"]
    pre: list = []
    if form == "input_reshape":  # flat [N, 64] input reshaped to images in the graph
        in_shape = ["N", 64]
        inits["img"] = np.array([-1, 1, 8, 8], np.int64)
        pre = [helper.make_node("Reshape", ["x", "img"], ["xi"], name="to_image")]
        first = ["xi"]
    nodes = pre + [helper.make_node("Conv", first + ["k"], ["c"], name="conv"),
                   helper.make_node("Relu", ["c"], ["r"], name="relu"),
                   helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2],
                                    strides=[2, 2])]
    if form == "flatten":
        nodes.append(helper.make_node("Flatten", ["p"], ["f"], name="flat"))
    elif form in ("reshape_minus1_first", "reshape_0_minus1", "input_reshape"):
        inits["shape"] = np.array([-1, 36] if form != "reshape_0_minus1" else [0, -1], np.int64)
        nodes.append(helper.make_node("Reshape", ["p", "shape"], ["f"], name="view"))
    elif form == "legacy_shape_gather":  # x.view(x.size(0), -1), TorchScript style
        inits["zero"] = np.array(0, np.int64)
        inits["axes"] = np.array([0], np.int64)
        inits["minus1"] = np.array([-1], np.int64)
        nodes += [helper.make_node("Shape", ["p"], ["s"], name="shape"),
                  helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
                  helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsq"),
                  helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat", axis=0),
                  helper.make_node("Reshape", ["p", "target"], ["f"], name="view")]
    else:  # dynamo without the optimizer: Shape(start, end) -> Squeeze -> Reshape -> Concat
        inits["minus1"] = np.array([-1], np.int64)
        inits["feat"] = np.array([36], np.int64)
        nodes += [helper.make_node("Shape", ["x"], ["s"], name="shape", start=0, end=1),
                  helper.make_node("Squeeze", ["s"], ["n"], name="squeeze"),
                  helper.make_node("Reshape", ["n", "minus1"], ["n1"], name="to_vec"),
                  helper.make_node("Concat", ["n1", "feat"], ["target"], name="cat", axis=0),
                  helper.make_node("Reshape", ["p", "target"], ["f"], name="view", allowzero=1)]
    nodes.append(helper.make_node("Gemm", ["f", "w"], ["out"], name="fc", transB=1))
    onx = _model(nodes, inits, in_shape, opset=18)
    fm = _check_matches_onnxruntime(onx, tuple(in_shape[1:]))
    assert fm.input_shape == (1, 8, 8)
    assert [l.kind for l in fm.layers] == ["conv", "maxpool", "dense"]


def _refusal_graph(case: str) -> bytes:
    rng = np.random.default_rng(11)
    inits = {"k": rng.normal(size=(4, 2, 3, 3)), "w": rng.normal(size=(3, 4 * 6 * 6))}
    conv = helper.make_node("Conv", ["x", "k"], ["c"], name="conv1", pads=[1, 1, 1, 1])
    relu = helper.make_node("Relu", ["c"], ["r"], name="relu1")
    tail = [helper.make_node("Flatten", ["r"], ["f"], name="flat"),
            helper.make_node("Gemm", ["f", "w"], ["out"], name="fc", transB=1)]
    in_shape = ["N", 2, 6, 6]
    if case == "group":
        inits["k"] = rng.normal(size=(4, 1, 3, 3))
        nodes = [helper.make_node("Conv", ["x", "k"], ["c"], name="conv1", group=2,
                                  pads=[1, 1, 1, 1]), relu] + tail
    elif case == "dilation":
        nodes = [helper.make_node("Conv", ["x", "k"], ["c"], name="conv1", dilations=[2, 2],
                                  pads=[2, 2, 2, 2]), relu] + tail
    elif case == "conv3d":
        inits["k"] = rng.normal(size=(4, 2, 3, 3, 1))
        in_shape = ["N", 2, 6, 6, 1]
        nodes = [helper.make_node("Conv", ["x", "k"], ["c"], name="conv1", pads=[1, 1, 0, 1, 1, 0]),
                 relu] + tail
    elif case == "pads_not_below_kernel":
        inits["k"] = rng.normal(size=(4, 2, 1, 1))
        inits["w"] = rng.normal(size=(3, 4 * 8 * 8))
        nodes = [helper.make_node("Conv", ["x", "k"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
                 relu] + tail
    elif case in ("ceil_mode", "pool_dilation", "pool_kernel5", "pool_stride_gt_kernel",
                  "pool_indices", "avg_ceil_mode", "avg_pads_not_counted"):
        attrs = {"ceil_mode": dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
                 "pool_dilation": dict(kernel_shape=[2, 2], dilations=[2, 2]),
                 "pool_kernel5": dict(kernel_shape=[5, 5]),
                 "pool_stride_gt_kernel": dict(kernel_shape=[2, 2], strides=[3, 3]),
                 "pool_indices": dict(kernel_shape=[2, 2], strides=[2, 2]),
                 "avg_ceil_mode": dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
                 "avg_pads_not_counted": dict(kernel_shape=[3, 3], strides=[3, 3],
                                              pads=[1, 0, 1, 0], count_include_pad=0)}[case]
        op = "AveragePool" if case.startswith("avg") else "MaxPool"
        outs = ["p", "idx"] if case == "pool_indices" else ["p"]
        nodes = [conv, relu, helper.make_node(op, ["r"], outs, name="pool1", **attrs),
                 helper.make_node("Flatten", ["p"], ["f"], name="flat"),
                 helper.make_node("Gemm", ["f", "w"], ["out"], name="fc", transB=1)]
    elif case == "avg_before_relu":  # average pooling does not commute with ReLU
        nodes = [conv, helper.make_node("GlobalAveragePool", ["c"], ["p"], name="pool1"),
                 helper.make_node("Relu", ["p"], ["r"], name="relu1"),
                 helper.make_node("Flatten", ["r"], ["f"], name="flat"),
                 helper.make_node("Gemm", ["f", "w"], ["out"], name="fc", transB=1)]
        inits["w"] = rng.normal(size=(3, 4))
    elif case == "reduce_mean_channels":
        inits["axes"] = np.array([1], np.int64)
        nodes = [conv, relu, helper.make_node("ReduceMean", ["r", "axes"], ["m"], name="mean1"),
                 helper.make_node("Flatten", ["m"], ["f"], name="flat"),
                 helper.make_node("Gemm", ["f", "w"], ["out"], name="fc", transB=1)]
        inits["w"] = rng.normal(size=(3, 36))
    elif case in ("two_branch_add", "skip_from_input", "residual_without_relu",
                  "residual_shape_mismatch", "bn_after_residual"):
        inits["k2"] = rng.normal(size=(4, 4, 3, 3))
        inits["k3"] = rng.normal(size=(4, 4, 3, 3))
        first, second = {"two_branch_add": ("c2", "c3"), "skip_from_input": ("c2", "x"),
                         "bn_after_residual": ("c2", "r"), "residual_without_relu": ("c2", "r"),
                         "residual_shape_mismatch": ("c4", "r")}[case]
        nodes = [conv, relu,
                 helper.make_node("Conv", ["r", "k2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
                 helper.make_node("Conv", ["r", "k3"], ["c3"], name="conv3", pads=[1, 1, 1, 1]),
                 helper.make_node("Conv", ["r", "k3"], ["c4"], name="conv4"),  # 4x4 output
                 helper.make_node("Add", [first, second], ["s"], name="skip1")]
        if case == "bn_after_residual":
            for n, v in (("s1", 1.5), ("b1", 0.1), ("m1", 0.2), ("v1", 0.9)):
                inits[n] = np.full(4, v)
            nodes.append(helper.make_node("BatchNormalization", ["s", "s1", "b1", "m1", "v1"],
                                          ["bn"], name="bn1"))
            nodes.append(helper.make_node("Relu", ["bn"], ["r2"], name="relu2"))
        elif case == "residual_without_relu":
            nodes.append(helper.make_node("Identity", ["s"], ["r2"], name="ident"))
        else:
            nodes.append(helper.make_node("Relu", ["s"], ["r2"], name="relu2"))
        if case == "skip_from_input":
            in_shape = ["N", 4, 6, 6]
            inits["k"] = rng.normal(size=(4, 4, 3, 3))
        nodes += [helper.make_node("Flatten", ["r2"], ["f"], name="flat"),
                  helper.make_node("Gemm", ["f", "w"], ["out"], name="fc", transB=1)]
    elif case == "bn_negative_variance":
        for n, v in (("s", 1.5), ("b", 0.1), ("m", 0.2), ("v", -0.9)):
            inits[n] = np.full(4, v)
        nodes = [conv, helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"],
                                        name="bn1"),
                 helper.make_node("Relu", ["n"], ["r"], name="relu1")] + tail
    elif case in ("bn_after_relu", "bn_on_input"):
        for n, v in (("s", 1.5), ("b", 0.1), ("m", 0.2), ("v", 0.9)):
            inits[n] = np.full(4 if case == "bn_after_relu" else 2, v)
        src = "r" if case == "bn_after_relu" else "x"
        bn = helper.make_node("BatchNormalization", [src, "s", "b", "m", "v"], ["n"], name="bn1")
        if case == "bn_after_relu":
            nodes = [conv, relu, bn, helper.make_node("Flatten", ["n"], ["f"], name="flat"),
                     tail[1]]
        else:
            nodes = [bn, helper.make_node("Conv", ["n", "k"], ["c"], name="conv1",
                                          pads=[1, 1, 1, 1]), relu] + tail
    elif case == "conv_without_relu":
        inits["k2"] = rng.normal(size=(4, 4, 3, 3))
        nodes = [conv, helper.make_node("Conv", ["c", "k2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
                 helper.make_node("Relu", ["c2"], ["r"], name="relu2")] + tail
    elif case == "conv_output":
        nodes = [helper.make_node("Conv", ["x", "k"], ["out"], name="conv1", pads=[1, 1, 1, 1])]
    elif case == "conv_after_dense":
        inits["w1"] = rng.normal(size=(72, 72))
        inits["img"] = np.array([-1, 2, 6, 6], np.int64)
        nodes = [helper.make_node("Flatten", ["x"], ["fx"], name="flat0"),
                 helper.make_node("Gemm", ["fx", "w1"], ["h"], name="fc0", transB=1),
                 helper.make_node("Relu", ["h"], ["hr"], name="relu0"),
                 helper.make_node("Reshape", ["hr", "img"], ["hi"], name="to_image"),
                 helper.make_node("Conv", ["hi", "k"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
                 relu] + tail
    elif case == "tanh":
        nodes = [conv, helper.make_node("Tanh", ["c"], ["r"], name="act1")] + tail
    else:
        raise AssertionError(case)
    return _model(nodes, inits, in_shape, opset=18)


REFUSALS = {
    # case: (operator, node, words the message must contain)
    "group": ("'Conv'", "'conv1'", "group=2"),
    "dilation": ("'Conv'", "'conv1'", "dilations"),
    "conv3d": ("'Conv'", "'conv1'", "[N, C, H, W]"),
    "pads_not_below_kernel": ("'Conv'", "'conv1'", "smaller than the kernel"),
    "ceil_mode": ("'MaxPool'", "'pool1'", "ceil_mode"),
    "pool_dilation": ("'MaxPool'", "'pool1'", "dilations"),
    "pool_kernel5": ("'MaxPool'", "'pool1'", "kernels up to 4"),
    "pool_stride_gt_kernel": ("'MaxPool'", "'pool1'", "stride <= kernel"),
    "pool_indices": ("'MaxPool'", "'pool1'", "indices"),
    "avg_ceil_mode": ("'AveragePool'", "'pool1'", "ceil_mode"),
    "avg_pads_not_counted": ("'AveragePool'", "'pool1'", "count_include_pad"),
    "avg_before_relu": ("'GlobalAveragePool'", "'pool1'", "must come after the Relu"),
    "reduce_mean_channels": ("'ReduceMean'", "'mean1'", "spatial axes"),
    "two_branch_add": ("'Add'", "'skip1'", "1x1 projections without padding"),
    "skip_from_input": ("'Add'", "'skip1'", "identity skip"),
    "residual_shape_mismatch": ("'Add'", "'skip1'", "equal shapes"),
    "residual_without_relu": ("'Conv'", "'conv2'", "every hidden layer must end in ReLU"),
    "bn_after_residual": ("'BatchNormalization'", "'bn1'", "directly after a Conv or Gemm"),
    "bn_after_relu": ("'BatchNormalization'", "'bn1'", "directly after a Conv or Gemm"),
    "bn_on_input": ("'BatchNormalization'", "'bn1'", "follows the input"),
    "bn_negative_variance": ("'BatchNormalization'", "'bn1'", "non-finite"),
    "conv_without_relu": ("'Conv'", "'conv2'", "every hidden layer must end in ReLU"),
    "conv_output": ("'Conv'", "'conv1'", "last layer must be dense"),
    "conv_after_dense": ("'Conv'", "'conv1'", "follows a dense layer"),
    "tanh": ("'Tanh'", "'act1'", "unsupported operator"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_name_operator_and_node(case):
    """Legal ONNX (load_float_net runs the checker first: a FormatError would fail here)
    that zkml refuses, naming the operator and the node."""
    op, node, words = REFUSALS[case]
    with pytest.raises(UnsupportedModelError) as e:
        load_float_net(_refusal_graph(case))
    msg = str(e.value)
    assert op in msg and node in msg and words in msg, msg


@pytest.mark.parametrize("name", zkml_fixtures.TORCH_CNN_EXPORTS)
def test_torch_cnn_exports_match_onnxruntime(digits, name):
    onx = zkml_fixtures.torch_cnn_onnx(name)
    assert len(onx) < 100_000
    ops = [n.op_type for n in onnx.load_from_string(onx).graph.node]
    assert ops.count("Conv") == 2 and ops.count("MaxPool") == 2
    assert ("BatchNormalization" in ops) == (name in ("legacy_nofold", "dynamo_noopt"))
    fm = load_float_net(onx)
    assert fm.input_shape == (1, 8, 8) and fm.n_classes == 10
    assert [l.kind for l in fm.layers] == ["conv", "maxpool", "conv", "maxpool", "dense", "dense"]
    assert [l.relu for l in fm.layers] == [True, False, True, False, True, False]
    x = digits[2].reshape(-1, 1, 8, 8)
    logits = _ort_run(onx, x)
    assert np.allclose(fm.forward(x), logits, atol=1e-4)
    assert np.array_equal(fm.predict(x), np.argmax(logits, 1))


def test_torch_cnn_exports_agree_with_each_other(digits):
    """The four exports are one network: the same folded float weights, up to float32
    rounding of the BatchNormalization folding."""
    nets = [load_float_net(zkml_fixtures.torch_cnn_onnx(n)) for n in zkml_fixtures.TORCH_CNN_EXPORTS]
    for net in nets[1:]:
        for a, b in zip(nets[0].layers, net.layers):
            if a.kind != "maxpool":
                assert np.allclose(a.weight, b.weight, atol=1e-5)
                assert np.allclose(a.bias, b.bias, atol=1e-5)


@pytest.mark.parametrize("name", zkml_fixtures.TORCH_CNN_VARIANT_EXPORTS)
def test_torch_cnn_variant_exports_match_onnxruntime(digits, name):
    onx = zkml_fixtures.torch_cnn_onnx(name)
    assert len(onx) < 100_000
    ops = {n.op_type for n in onnx.load_from_string(onx).graph.node}
    assert {"variant_legacy_nofold": {"Shape", "Gather", "Unsqueeze", "BatchNormalization"},
            "variant_dynamo20_noopt": {"Shape", "Squeeze", "Expand", "CastLike", "Concat"},
            "variant_dynamo_static": {"Reshape"}}[name] <= ops  # the forms this export covers
    fm = load_float_net(onx)
    assert fm.input_shape == (1, 8, 8) and fm.n_classes == 10
    assert [l.kind for l in fm.layers] == ["conv", "maxpool", "conv", "maxpool", "dense", "dense"]
    assert [l.relu for l in fm.layers] == [True, False, True, False, True, False]
    assert fm.layers[0].stride == (2, 2) and fm.layers[2].pads == (1, 0, 1, 0)
    assert fm.layers[3].pads == (1, 1, 1, 1)
    x = digits[2][:796].reshape(-1, 1, 8, 8)  # a multiple of the static batch of 4
    logits = np.concatenate([_ort_run(onx, x[i:i + 4]) for i in range(0, len(x), 4)])
    assert np.allclose(fm.forward(x), logits, atol=1e-4)


@pytest.mark.parametrize("name", zkml_fixtures.TORCH_CNN_AVG_EXPORTS)
def test_torch_cnn_average_pooling_exports_match_onnxruntime(digits, name):
    onx = zkml_fixtures.torch_cnn_onnx(name)
    assert len(onx) < 100_000
    ops = {n.op_type for n in onnx.load_from_string(onx).graph.node}
    assert "AveragePool" in ops
    assert ("GlobalAveragePool" if name == "avg_legacy" else "ReduceMean") in ops
    fm = load_float_net(onx)
    assert [l.kind for l in fm.layers] == ["conv", "avgpool", "conv", "avgpool", "dense"]
    assert fm.layers[3].kernel == (4, 4)   # global pooling of the 4x4 maps
    x = digits[2].reshape(-1, 1, 8, 8)
    logits = _ort_run(onx, x)
    assert np.allclose(fm.forward(x), logits, atol=1e-4)


@pytest.mark.parametrize("name", zkml_fixtures.TORCH_CNN_RES_EXPORTS)
def test_torch_cnn_residual_exports_match_onnxruntime(digits, name):
    onx = zkml_fixtures.torch_cnn_onnx(name)
    assert len(onx) < 100_000
    ops = [n.op_type for n in onnx.load_from_string(onx).graph.node]
    assert ops.count("Add") == 1 and ("BatchNormalization" in ops) == (name == "res_dynamo_noopt")
    fm = load_float_net(onx)
    assert [l.kind for l in fm.layers] == ["conv", "conv", "conv", "maxpool", "dense"]
    assert fm.layers[2].residual == 1 and fm.layers[2].relu
    x = digits[2].reshape(-1, 1, 8, 8)
    assert np.allclose(fm.forward(x), _ort_run(onx, x), atol=1e-4)
