"""Quantization of convolutional networks: accuracy of the integer CNN on digits, its
activations against the float network's, proof-system bounds, and the quantize command."""

from __future__ import annotations

import numpy as np
import pytest
import zkml_fixtures

from zkml.errors import UnsupportedModelError
from zkml.formats.model import NET_ARCH_FORMAT, QuantizedModel, row_bounds, requant_fits
from zkml.frontend.onnx_import import FloatConv, FloatLayer, FloatMaxPool, FloatNet, load_float_net
from zkml.frontend.quantize import (choose_requant, choose_residual_requant, float_accuracy, fuse_linear,
                           int_accuracy, quantize)


def _images(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, 1, 8, 8)


ALL_EXPORTS = (zkml_fixtures.TORCH_CNN_EXPORTS + zkml_fixtures.TORCH_CNN_VARIANT_EXPORTS
               + zkml_fixtures.TORCH_CNN_AVG_EXPORTS + zkml_fixtures.TORCH_CNN_RES_EXPORTS)


@pytest.fixture(scope="module")
def cnn_models(digits):
    """name -> (onnx bytes, quantized model) for every committed PyTorch CNN export."""
    out = {}
    for name in ALL_EXPORTS:
        onx = zkml_fixtures.torch_cnn_onnx(name)
        out[name] = (onx, quantize(onx, _images(digits[0])))
    return out


@pytest.mark.parametrize("name", ALL_EXPORTS)
def test_torch_cnn_within_one_point(digits, cnn_models, name):
    _, _, x_test, y_test = digits
    onx, model = cnn_models[name]
    fa = float_accuracy(onx, _images(x_test), y_test)
    ia = int_accuracy(model, _images(x_test), y_test)
    print(f"torch CNN ({name}): float accuracy {fa:.4f}, integer accuracy {ia:.4f}, "
          f"gap {100 * (fa - ia):+.2f} pp")
    assert fa > 0.9, "the float model should be a decent classifier"
    assert fa - ia <= 0.01, f"integer accuracy {ia:.4f} is more than 1 pp below float {fa:.4f}"
    assert model.input_shape == (1, 8, 8) and model.n_classes == 10
    assert QuantizedModel.from_bytes(model.to_bytes()) == model
    if name.startswith("res"):
        assert model.shapes() == [(1, 8, 8), (8, 8, 8), (8, 8, 8), (8, 8, 8), (8, 4, 4), (10,)]
        assert [l.kind for l in model.layers] == ["conv", "conv", "conv", "maxpool", "dense"]
        assert [l.requant.residual is not None for l in model.layers[:3]] == [False, False, True]
        assert model.layers[2].requant.residual[0] == 1   # the stem's output
        from zkml.__main__ import describe
        assert "conv3x3 8x8x8 (+ layer 1)" in describe(model)
        return
    if name.startswith("avg"):
        assert model.shapes() == [(1, 8, 8), (8, 8, 8), (8, 4, 4), (32, 4, 4), (32, 1, 1),
                                  (10,)]
        assert [l.kind for l in model.layers] == ["conv", "avgpool", "conv", "avgpool", "dense"]
        return
    assert [l.kind for l in model.layers] == ["conv", "maxpool", "conv", "maxpool", "dense",
                                              "dense"]
    if name.startswith("variant"):
        assert model.shapes() == [(1, 8, 8), (8, 4, 4), (8, 3, 3), (16, 4, 1), (16, 2, 1),
                                  (32,), (10,)]
    else:
        assert model.shapes() == [(1, 8, 8), (6, 8, 8), (6, 4, 4), (16, 4, 4), (16, 2, 2),
                                  (32,), (10,)]
    assert model.architecture()["format"] == NET_ARCH_FORMAT


def test_integer_activations_track_the_float_network(digits, cnn_models):
    """Every hidden integer activation, times its scale, is the float activation up to a
    few quantization steps: this pins the pads, strides, bias scales and requantization."""
    onx, model = cnn_models["legacy_nofold"]
    x = _images(digits[2])
    float_acts = load_float_net(onx).hidden(x)
    int_acts = model.hidden_int(model.quantize_input(x))
    for i, (f, (z, a)) in enumerate(zip(float_acts[:-1], int_acts[:-1])):
        assert a.shape == f.shape
        err = np.abs(a * model.scales[i] - f) / model.scales[i]
        assert err.mean() < 1.0, (i, err.mean())
        assert np.corrcoef((a * model.scales[i]).ravel(), f.ravel())[0, 1] > 0.999
    logits = int_acts[-1][0] * model.scales[-1]
    assert np.corrcoef(logits.ravel(), float_acts[-1].ravel())[0, 1] > 0.999


@pytest.mark.parametrize("name", ["dynamo", "avg_dynamo"])
def test_pooling_scale_is_its_input_scale(cnn_models, name):
    model = cnn_models[name][1]
    pools = [i for i, layer in enumerate(model.layers) if layer.kind in ("maxpool", "avgpool")]
    assert len(pools) == 2
    for i in pools:
        assert model.scales[i] == model.scales[i - 1]


def test_quantize_cnn_is_deterministic(digits, cnn_models):
    onx, model = cnn_models["dynamo_noopt"]
    assert quantize(onx, _images(digits[0])).to_bytes() == model.to_bytes()


@pytest.mark.parametrize("per_channel", [False, True])
def test_conv_requant_is_lowered_when_the_quotient_could_overflow(per_channel):
    # 32 channels x 5x5 equal weights: calibration activations are tiny compared with the
    # worst case (every input at 127), so the naive multiplier would overflow q.
    conv = FloatConv(np.ones((2, 32, 5, 5)), np.zeros(2), (1, 1), (2, 2, 2, 2), True)
    fm = FloatNet([conv, FloatMaxPool((2, 2), (2, 2), (0, 0, 0, 0)),
                   FloatLayer(np.eye(2, 2 * 3 * 3), np.zeros(2), False)], (32, 6, 6), 2)
    cal = np.zeros((8, 32, 6, 6))
    cal[np.arange(8), np.arange(8), 3, 3] = 1.0
    model = quantize(fm, cal, per_channel=per_channel)
    layer = model.layers[0]
    zmax = int(row_bounds(layer.weight.reshape(2, -1), layer.bias).max())
    multipliers = layer.requant.multiplier if per_channel else (layer.requant.multiplier,)
    assert isinstance(layer.requant.multiplier, tuple) == per_channel
    naive_m, naive_k = choose_requant(model.input_scale * (1 / 127) / (1 / 127))
    assert not requant_fits(zmax, naive_m, naive_k)
    for m in multipliers:
        assert requant_fits(zmax, m, layer.requant.shift)
        assert m / 2 ** layer.requant.shift < naive_m / 2 ** naive_k


def test_hidden_conv_without_relu_is_refused():
    conv = FloatConv(np.ones((2, 1, 3, 3)), np.zeros(2), (1, 1), (1, 1, 1, 1), False,
                     "'Conv' at node 'c1'")
    layers = [conv, FloatMaxPool((2, 2), (2, 2), (0, 0, 0, 0)),
              FloatLayer(np.ones((2, 8)), np.zeros(2), False)]
    with pytest.raises(UnsupportedModelError, match="'c1'.*ReLU"):
        fuse_linear(layers)
    # with its ReLU it passes through unchanged (dense layers without ReLU are still fused)
    conv.relu = True
    assert fuse_linear(layers) == layers


def test_quantize_command_reports_cnn_accuracy(tmp_path, capsys, digits):
    from zkml.__main__ import main
    from zkml.formats.data import save_dataset

    x_train, y_train, _, _ = digits
    (tmp_path / "cnn.onnx").write_bytes(zkml_fixtures.torch_cnn_onnx("dynamo"))
    save_dataset(tmp_path / "cal.npz", _images(x_train[:300]), y_train[:300])
    np.savez(tmp_path / "cal_x.npz", x=_images(x_train[:300]))
    out_file = tmp_path / "m.zkm"
    assert main(["quantize", str(tmp_path / "cnn.onnx"), "--calibration",
                 str(tmp_path / "cal.npz"), "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    model = QuantizedModel.load(out_file)
    int_acc = int_accuracy(model, _images(x_train[:300]), y_train[:300])
    assert "CNN 1x8x8 -> conv3x3 6x8x8 -> maxpool2x2 6x4x4 -> conv3x3 16x4x4" in out
    assert f"integer {int_acc * 100:.2f}%" in out and "float (onnxruntime)" in out
    # labels are optional: then the command reports how often integer and float agree
    assert main(["quantize", str(tmp_path / "cnn.onnx"), "--calibration",
                 str(tmp_path / "cal_x.npz"), "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "no labels" in out and "agree on" in out


def test_residual_requant_fits_the_worst_case_and_tracks_the_scales():
    # a 31x31 all-ones kernel: the worst case (every input and the skip at 127) is far above
    # the calibration range (one lit pixel), so m and m_s must be lowered together
    c1 = FloatConv(np.ones((1, 1, 1, 1)), np.zeros(1), (1, 1), (0, 0, 0, 0), True)
    c2 = FloatConv(np.ones((1, 1, 31, 31)), np.zeros(1), (1, 1), (15, 15, 15, 15), True,
                   residual=1)
    fm = FloatNet([c1, c2, FloatLayer(np.eye(2, 31 * 31), np.zeros(2), False)], (1, 31, 31), 2)
    cal = np.zeros((8, 1, 31, 31))
    cal[np.arange(8), 0, 3 * np.arange(8), 15] = 1.0
    model = quantize(fm, cal)   # validate() inside checks the residual quotient bound
    rq = model.layers[1].requant
    assert rq.residual[0] == 1
    m, k, m_skip = rq.multiplier, rq.shift, rq.residual[1]
    zmax = int(row_bounds(model.layers[1].weight.reshape(1, -1), model.layers[1].bias).max())
    worst = (m * zmax + m_skip * 127 + 2 ** (k - 1)) >> k
    assert 2 ** 14 <= worst < 2 ** 15, "lowered just enough"
    s_out_calibrated = fm.hidden(cal)[1].max() / 127      # what calibration alone picks
    calibrated = model.scales[0] * (1 / 127) / s_out_calibrated   # s_in * s_w / s_out
    assert m / 2 ** k < calibrated / 1.5, "the calibrated ratio had to be lowered"
    # m_s / 2**k is the ratio of the skip's scale to the output's
    ratio = model.scales[0] / model.scales[1]
    assert abs(m_skip / 2 ** k - ratio) / ratio < 1e-3
    with pytest.raises(UnsupportedModelError, match="residual"):
        choose_residual_requant(1e-3, 1e9, 100, "layer 1")
