"""Quantization: accuracy of the integer model, exact integer semantics, proof-system bounds."""

from __future__ import annotations

import numpy as np
import pytest
import zkml_fixtures

from zkml.errors import FormatError, UnsupportedModelError
from zkml.formats.model import (QUOTIENT_BITS, DenseLayer, QuantizedModel, Requant, requant_fits,
                        row_bounds)
from zkml.frontend.onnx_import import FloatLayer, FloatMLP
from zkml.frontend.quantize import (choose_requant, float_accuracy, fuse_linear, int_accuracy,
                           quantize)


def _gap_check(onnx_bytes, x_train, x_test, y_test, label):
    model = quantize(onnx_bytes, x_train)
    fa = float_accuracy(onnx_bytes, x_test, y_test)
    ia = int_accuracy(model, x_test, y_test)
    print(f"{label}: float accuracy {fa:.4f}, integer accuracy {ia:.4f}, "
          f"gap {100 * (fa - ia):+.2f} pp")
    assert fa > 0.85, "the float model should be a decent classifier"
    assert fa - ia <= 0.01, f"integer accuracy {ia:.4f} is more than 1 pp below float {fa:.4f}"
    return model, fa, ia


def test_digits_one_hidden_layer_within_one_point(digits, digits_onnx):
    x_train, _, x_test, y_test = digits
    model, _, _ = _gap_check(digits_onnx, x_train, x_test, y_test, "MLP(32,)")
    assert [l.weight.shape for l in model.layers] == [(32, 64), (10, 32)]
    assert model.layers[0].requant is not None and model.layers[1].requant is None


def test_digits_two_hidden_layers_within_one_point(digits):
    x_train, _, x_test, y_test = digits
    onx = zkml_fixtures.digits_mlp_onnx((64, 32))
    model, _, _ = _gap_check(onx, x_train, x_test, y_test, "MLP(64,32)")
    assert [l.weight.shape for l in model.layers] == [(64, 64), (32, 64), (10, 32)]


def test_torch_export_within_one_point(digits):
    x_train, _, x_test, y_test = digits
    onx = zkml_fixtures.torch_mlp_onnx()
    model, _, _ = _gap_check(onx, x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8),
                             y_test, "torch MLP")
    assert model.input_shape == (1, 8, 8)


def test_binary_within_one_point(digits):
    x_train, _, x_test, y_test = digits
    onx = zkml_fixtures.digits_binary_mlp_onnx()
    yb = zkml_fixtures.digits_binary_labels(y_test)
    model, _, _ = _gap_check(onx, x_train, x_test, yb, "binary MLP(16,)")
    assert model.n_classes == 2


def _slow_forward(model: QuantizedModel, x_int_row) -> list[int]:
    """Reference integer inference with Python ints and floor division (no numpy, no >>)."""
    a = [int(v) for v in x_int_row]
    for layer in model.layers:
        w = layer.weight.tolist()
        b = layer.bias.tolist()
        z = [sum(wi * ai for wi, ai in zip(row, a)) + bi for row, bi in zip(w, b)]
        if layer.requant is None:
            return z
        m, k = layer.requant.multiplier, layer.requant.shift
        a = [min(max((m * zi + 2 ** (k - 1)) // 2 ** k, 0), 127) for zi in z]
    raise AssertionError("unreachable")


def test_forward_int_matches_slow_reference(digits):
    _, _, x_test, _ = digits
    model = quantize(zkml_fixtures.digits_mlp_onnx((64, 32)), digits[0])
    rng = np.random.default_rng(1)
    # real samples plus adversarial extremes (saturated inputs, random signs)
    extremes = rng.choice([-127, 0, 127], size=(10, 64))
    x_int = np.concatenate([model.quantize_input(x_test[:30]), extremes]).astype(np.int64)
    got = model.forward_int(x_int)
    assert got.dtype == np.int64 and got.shape == (40, 10)
    for i in range(len(x_int)):
        assert got[i].tolist() == _slow_forward(model, x_int[i])
    # hidden_int exposes z and a = clamp(q, 0, 127) per layer, a is None for the last
    hid = model.hidden_int(x_int)
    assert len(hid) == 3 and hid[-1][1] is None and np.array_equal(hid[-1][0], got)
    for (z, a), layer in zip(hid[:-1], model.layers):
        m, k = layer.requant.multiplier, layer.requant.shift
        q = np.floor_divide(m * z + 2 ** (k - 1), 2 ** k)
        assert np.array_equal(a, np.clip(q, 0, 127))
        assert a.min() >= 0 and a.max() <= 127


def test_predict_uses_first_max_rule():
    # two identical logits rows -> argmax must pick the first
    layer = DenseLayer(np.array([[1, 0], [1, 0], [0, 1]], dtype=np.int64),
                       np.zeros(3, dtype=np.int64), None)
    model = QuantizedModel((2,), 1.0, 3, [layer], [1.0])
    assert model.predict(np.array([[5.0, 1.0], [1.0, 5.0]])).tolist() == [0, 2]


def test_quantize_input_rounds_half_to_even_and_clamps():
    layer = DenseLayer(np.eye(4, dtype=np.int64), np.zeros(4, dtype=np.int64), None)
    model = QuantizedModel((4,), 0.5, 4, [layer], [0.5])
    x = np.array([[0.25, 0.75, 1.25, -0.25], [-0.75, 1000.0, -1000.0, 63.25]], np.float32)
    assert model.quantize_input(x).tolist() == [[0, 2, 2, 0], [-2, 127, -127, 126]]
    with pytest.raises(FormatError):
        model.quantize_input(np.array([[np.nan, 0, 0, 0]]))
    with pytest.raises(FormatError):
        model.quantize_input(np.zeros((2, 5)))


def test_quantize_is_deterministic(digits, digits_onnx, digits_qmodel):
    again = quantize(digits_onnx, digits[0])
    assert again.to_bytes() == digits_qmodel.to_bytes()


def test_requant_bounds_hold_for_every_reachable_z(digits_qmodel):
    for layer in digits_qmodel.layers[:-1]:
        zmax = int(row_bounds(layer.weight, layer.bias).max())
        m, k = layer.requant.multiplier, layer.requant.shift
        assert (m * zmax + 2 ** (k - 1)) // 2 ** k < 2 ** QUOTIENT_BITS
        assert (-m * zmax + 2 ** (k - 1)) // 2 ** k >= -(2 ** QUOTIENT_BITS)
        assert 2 ** 15 <= m < 2 ** 16 or k == 32, "multiplier should use all 16 bits"


def test_choose_requant_precision():
    for ratio in (1e-4, 0.00123, 0.37, 3.0, 1000.0):
        m, k = choose_requant(ratio)
        assert 1 <= m < 2 ** 16 and 1 <= k <= 32
        assert abs(m / 2 ** k - ratio) / ratio < 2 ** -15
    with pytest.raises(UnsupportedModelError):
        choose_requant(1e6)  # would need m >= 2**16 even with k = 1
    with pytest.raises(UnsupportedModelError):
        choose_requant(1e-12)  # rounds to m = 0 even with k = 32


def test_quantize_lowers_the_multiplier_when_the_quotient_could_overflow():
    # 2000 inputs with all weights equal: the calibrated scale is tiny compared with the
    # worst case (all inputs at 127), so the naive multiplier would overflow q.
    d = 2000
    fm = FloatMLP([FloatLayer(np.ones((4, d)), np.zeros(4), True),
                   FloatLayer(np.eye(2, 4), np.zeros(2), False)], (d,), 2)
    cal = np.zeros((8, d))
    cal[np.arange(8), np.arange(8)] = 1.0
    model = quantize(fm, cal)
    layer = model.layers[0]
    zmax = int(row_bounds(layer.weight, layer.bias).max())
    assert requant_fits(zmax, layer.requant.multiplier, layer.requant.shift)
    naive_m, naive_k = choose_requant(model.input_scale * (1 / 127) / (1 / 127))
    assert layer.requant.multiplier / 2 ** layer.requant.shift < naive_m / 2 ** naive_k
    # and validate() refuses a hand-made model that could overflow
    bad = QuantizedModel((d,), model.input_scale, 2,
                         [DenseLayer(layer.weight, layer.bias, Requant(naive_m, naive_k)),
                          model.layers[1]], model.scales)
    with pytest.raises(UnsupportedModelError, match="requantization quotient"):
        bad.validate()


def test_fuse_linear_merges_hidden_layers_without_relu():
    rng = np.random.default_rng(0)
    layers = [FloatLayer(rng.normal(size=(5, 3)), rng.normal(size=5), False),
              FloatLayer(rng.normal(size=(4, 5)), rng.normal(size=4), True),
              FloatLayer(rng.normal(size=(2, 4)), rng.normal(size=2), False)]
    fused = fuse_linear(layers)
    assert len(fused) == 2 and fused[0].relu and not fused[1].relu
    x = rng.normal(size=(7, 3))
    a = FloatMLP(layers, (3,), 2).forward(x)
    b = FloatMLP(fused, (3,), 2).forward(x)
    assert np.allclose(a, b)


def test_calibration_data_is_checked(digits_onnx):
    with pytest.raises(FormatError):
        quantize(digits_onnx, np.zeros((10, 63), np.float32))
    with pytest.raises(FormatError):
        quantize(digits_onnx, np.full((10, 64), np.nan, np.float32))
