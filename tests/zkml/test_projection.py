"""Projection shortcuts (the downsampling ResNet block: Add(Conv branch, Conv 1x1 stride s of
an earlier ReLU output), then Relu): integer semantics and the public architecture, ONNX
import of both PyTorch exporters' graphs (checked-in exports and onnx.helper graphs) and
the refusals, quantization, prove/verify, and a cheating prover that changes the
projection's output (real prover, real Fiat–Shamir)."""
import json
import random

import numpy as np
import onnx
import pytest
import zkml_fixtures
from onnx import TensorProto, helper, numpy_helper

from zkml.errors import FormatError, UnsupportedModelError, VerificationError
from zkml.formats.commitment import Commitment
from zkml.formats.model import ConvLayer, DenseLayer, Projection, QuantizedModel, Requant
from zkml.formats.opening import commit
from zkml.formats.proof import Proof
from zkml.frontend.onnx_import import load_float_net
from zkml.frontend.quantize import float_accuracy, int_accuracy, quantize
from zkml.layers.spec import parameter_count, summary
from zkml.prover import argmax_witness, prove_statement
from zkml.verifier import verify_statement
from zkml_fixtures import check_proof_and_simulation, dense_logits, forged_proof
from zkml_fixtures import labelled_ints as data

M_P = (300, 200, 250, 100, 90, 310)


def proj_cnn(seed: int, per_channel: bool = True) -> QuantizedModel:
    """conv 3x3 1->4 on [1, 7, 6]; conv 3x3 4->6 stride 2 pad 1 plus the projection (1x1
    stride 2) of the first conv's output, [6, 4, 3]; dense -> 3 classes."""
    rng = np.random.default_rng(seed)
    c1 = ConvLayer(rng.integers(-127, 128, (4, 1, 3, 3)), rng.integers(-3000, 3000, 4), (1, 1), (1, 1, 1, 1),
                   Requant(25, 12))
    proj = Projection(1, rng.integers(-127, 128, (6, 4, 1, 1)), rng.integers(-3000, 3000, 6), (2, 2), M_P)
    m2 = (12, 7, 9, 15, 11, 10) if per_channel else 12
    c2 = ConvLayer(rng.integers(-60, 61, (6, 4, 3, 3)), rng.integers(-3000, 3000, 6), (2, 2), (1, 1, 1, 1),
                   Requant(m2, 12, projection=proj))
    d = DenseLayer(rng.integers(-127, 128, (3, 72)), rng.integers(-500, 500, 3), None)
    model = QuantizedModel((1, 7, 6), 0.1, 3, [c1, c2, d], [1.0] * 3)
    model.validate()
    return model


def test_projection_adds_the_scaled_strided_1x1_convolution_before_requantization():
    model = proj_cnn(1)
    x, _ = data(model, 4)
    (_, a1), (z2, a2) = model.hidden_int(x)[:2]
    p = model.layers[1].requant.projection
    zp = np.einsum("oc,nchw->nohw", p.weight[:, :, 0, 0], a1[:, :, ::2, ::2]) + p.bias[None, :, None, None]
    m = np.array((12, 7, 9, 15, 11, 10))[None, :, None, None]
    mp = np.array(M_P)[None, :, None, None]
    assert np.array_equal(a2, np.clip((m * z2 + mp * zp + 2048) >> 12, 0, 127))
    arch = model.architecture()
    assert arch["layers"][1]["requant"]["projection"] == {"from": 1, "kernel": [1, 1], "stride": [2, 2],
                                                          "multiplier": list(M_P)}
    assert summary(arch) == "Conv 3×3×4 → Conv 3×3×6/2 (+1×1/2 proj) → 72→3"
    assert parameter_count(arch) == model.parameter_count() == 40 + 222 + 30 + 219
    assert QuantizedModel.from_bytes(model.to_bytes()) == model
    good = json.loads(commit(model).to_bytes())
    for key, value in (("kernel", [3, 3]), ("from", 2), ("stride", [1, 1]), ("multiplier", [300] * 5),
                       ("multiplier", [0] * 6)):
        bad = json.loads(json.dumps(good))
        bad["architecture"]["layers"][1]["requant"]["projection"][key] = value
        with pytest.raises(FormatError, match="projection"):
            Commitment.from_bytes(json.dumps(bad).encode())


@pytest.mark.parametrize("per_channel", [True, False])
def test_projection_proof_verifies(per_channel):
    model = proj_cnn(2, per_channel)
    x, y = data(model, 6)
    check_proof_and_simulation(model, x, y, 1)


def test_a_wrong_projection_output_is_rejected_by_the_projection_sumcheck():
    """One entry of m_p ⊙ z_p one step off (z_p one larger), the block's Q, R, A and the logits
    after it computed consistently from it: only the projection's relation is broken."""
    model = proj_cnn(3)
    x, y = data(model, 6)
    com = commit(model, random.Random(1))

    def projection_off_by_one(circuit, wit):
        spec, k = circuit.spec(2), 12
        t = (wit["Q2"] << k) + wit["R2"]              # m Z + m_p Z_p + 2^(k-1), entry by entry
        e = int(np.nonzero((wit["A2"] > 0) & (wit["A2"] < 120))[0][0])
        sample, joint = divmod(e, spec.out.size)
        step = M_P[joint // (spec.out.real_size // spec.out.real[0])]
        wit["P2"].reshape(-1)[e] += step
        t[e] += step
        wit["Q2"], wit["R2"] = t >> k, t - ((t >> k) << k)
        wit["A2"] = np.clip(wit["Q2"], 0, 127)
        wit["Z3"] = dense_logits(circuit, wit, 3)
        return argmax_witness(circuit, wit, y)

    with pytest.raises(VerificationError, match="proj2: final evaluation"):
        verify_statement(com, x, y, forged_proof(model, x, y, projection_off_by_one))


# -- ONNX ----------------------------------------------------------------------------------

def _ort_run(onx: bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(onx, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]


def _images(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, 1, 8, 8)


@pytest.mark.parametrize("name", zkml_fixtures.TORCH_CNN_PROJ_EXPORTS)
def test_torch_projection_exports_import_and_quantize(digits, name):
    onx = zkml_fixtures.torch_cnn_onnx(name)
    ops = [n.op_type for n in onnx.load_from_string(onx).graph.node]
    assert ops.count("Add") == 1 and ("BatchNormalization" in ops) == (name == "proj_dynamo_noopt")
    fm = load_float_net(onx)
    assert [l.kind for l in fm.layers] == ["conv", "conv", "conv", "dense"]
    proj = fm.layers[2].projection
    assert fm.layers[2].residual == 1 and fm.layers[2].relu and proj.stride == (2, 2)
    x_train, _, x_test, y_test = digits
    assert np.allclose(fm.forward(_images(x_test)), _ort_run(onx, _images(x_test)), atol=1e-4)
    model = quantize(onx, _images(x_train))
    p = model.layers[2].requant.projection
    assert p.source == 1 and p.kernel == (1, 1) and p.stride == (2, 2) and len(p.multiplier) == 16
    float_acc = float_accuracy(onx, _images(x_test), y_test)
    assert float_acc > 0.9 and int_accuracy(model, _images(x_test), y_test) >= float_acc - 0.01


def test_torch_projection_export_proves_and_verifies(digits):
    model = quantize(zkml_fixtures.torch_cnn_onnx("proj_legacy"), _images(digits[0]))
    x = model.quantize_input(_images(digits[2][:5]))
    y = digits[3][:5]
    com = Commitment.from_bytes(commit(model, random.Random(1)).to_bytes())
    proof = Proof.from_bytes(prove_statement(model, x, y, rng=random.Random(2)).to_bytes())
    assert verify_statement(com, x, y, proof) == int(np.sum(model.predict(_images(digits[2][:5])) == y))


def _graph(nodes, inits, in_shape) -> bytes:
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3])
    tensors = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()]
    g = helper.make_graph(nodes, "g", [inp], [out], tensors)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]).SerializeToString()


def _block(case: str) -> bytes:
    """stem Conv 3x3 1->4 + Relu on [1, 8, 8]; Conv 3x3 4->6 stride 2 + Relu, Conv 3x3 6->6;
    the shortcut Conv of the stem's output (case: legacy = 1x1 stride 2 with bias, BN folded;
    dynamo = bias-less 1x1 stride 2 + BatchNormalization, Add operands swapped; the rest are
    refused); Add, Relu, Flatten, Gemm -> 3."""
    rng = np.random.default_rng(21)
    kernel = {"proj_3x3": 3, "proj_2x2": 2}.get(case, 1)
    groups = 2 if case == "proj_grouped" else 1
    inits = {"k1": rng.normal(size=(4, 1, 3, 3)), "k2": rng.normal(size=(6, 4, 3, 3)) * 0.3,
             "k3": rng.normal(size=(6, 6, 3, 3)) * 0.3, "kp": rng.normal(size=(6, 4 // groups, kernel, kernel)),
             "bp": rng.normal(size=6), "fc_w": rng.normal(size=(3, 6 * 4 * 4)), "fc_b": rng.normal(size=3),
             "g": rng.uniform(0.5, 2, 6), "b": rng.normal(size=6), "m": rng.normal(size=6),
             "v": rng.uniform(0.2, 2, 6)}
    H = helper.make_node
    src = "x" if case == "proj_of_input" else "r1"
    in_shape = ["N", 4 if case == "proj_of_input" else 1, 8, 8]
    if case == "proj_of_input":
        inits["k1"] = rng.normal(size=(4, 4, 3, 3))
    proj_attrs = dict(strides=[2, 2], group=groups, pads=[1, 1, 1, 1] if kernel == 3 else [0, 0, 0, 0])
    if case == "dynamo":
        shortcut = [H("Conv", [src, "kp"], ["cp"], name="shortcut_conv", **proj_attrs),
                    H("BatchNormalization", ["cp", "g", "b", "m", "v"], ["sp"], name="shortcut_bn")]
    else:
        shortcut = [H("Conv", [src, "kp", "bp"], ["sp"], name="shortcut_conv", **proj_attrs)]
    operands = ["sp", "c3"] if case == "dynamo" else ["c3", "sp"]
    nodes = [H("Conv", ["x", "k1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]), H("Relu", ["c1"], ["r1"], name="relu1"),
             H("Conv", ["r1", "k2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
             H("Relu", ["c2"], ["r2"], name="relu2"),
             H("Conv", ["r2", "k3"], ["c3"], name="conv3", pads=[1, 1, 1, 1])] + shortcut + [
             H("Add", operands, ["s"], name="add1"), H("Relu", ["s"], ["r3"], name="relu3"),
             H("Flatten", ["r3"], ["f"], name="flat"), H("Gemm", ["f", "fc_w", "fc_b"], ["out"], name="fc", transB=1)]
    return _graph(nodes, inits, in_shape)


@pytest.mark.parametrize("case", ["legacy", "dynamo"])
def test_helper_graphs_of_both_exporters_match_onnxruntime_and_quantize(case):
    onx = _block(case)
    fm = load_float_net(onx)
    x = np.random.default_rng(5).normal(size=(300, 1, 8, 8)).astype(np.float32)
    assert np.allclose(fm.forward(x), _ort_run(onx, x), atol=1e-4)
    assert [(l.kind, getattr(l, "residual", None)) for l in fm.layers] == \
        [("conv", None), ("conv", None), ("conv", 1), ("dense", None)]
    model = quantize(onx, x)
    assert model.layers[2].requant.projection.stride == (2, 2)
    assert np.mean(model.predict(x) == fm.predict(x)) >= 0.9


REFUSALS = {
    "proj_3x3": ("'Add'", "'add1'", "'Conv' at node 'shortcut_conv' has a 3x3 kernel with pads [1, 1, 1, 1]"),
    "proj_2x2": ("'Add'", "'add1'", "'Conv' at node 'shortcut_conv' has a 2x2 kernel"),
    "proj_grouped": ("'Conv'", "'shortcut_conv'", "group=2"),
    "proj_of_input": ("'Add'", "'add1'", "projection shortcut"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_unsupported_projections_are_refused_naming_the_node(case):
    op, node, words = REFUSALS[case]
    with pytest.raises(UnsupportedModelError) as e:
        load_float_net(_block(case))
    msg = str(e.value)
    assert op in msg and node in msg and words in msg, msg
