"""Post-training quantization of a float MLP or CNN into a :class:`~zkml.formats.model.QuantizedModel`.

Scheme (all scales symmetric; per output channel for hidden convolutions, per tensor otherwise):

* input: ``input_scale = max|calibration_x| / 127`` (so the calibration range maps onto
  [-127, 127] exactly; larger test values are clamped); ``x_int = clamp(rint(x / s), ±127)``;
* weights (dense and convolution kernels alike; BatchNormalization is already folded in by
  the importer): ``s_w = max|W| / 127``, ``W_int = rint(W / s_w)`` (int8, [-127, 127]); a
  hidden convolution without a residual branch takes one scale per output channel,
  ``s_w[o] = max|W[o]| / 127`` (folded BatchNormalization makes channels' ranges differ a lot),
  and one multiplier per channel ``m[o] / 2**k ~= s_in * s_w[o] / s_out`` (one shift k, the
  largest that keeps every m[o] < 2**16); dense layers keep one scale (the logits need a common
  scale, and MLPs quantize as before);
* biases: ``b_int = rint(b / (s_in * s_w))``, so ``z = x_int @ W_int.T + b_int`` (or the
  convolution) has scale ``s_in * s_w``;
* hidden activations: ``s_out = percentile(float post-ReLU activations on the calibration
  data, p) / 127``; the percentile p is chosen among :data:`PERCENTILES` by the agreement
  of integer and float predictions on the calibration data (no labels needed; ties go to
  the earlier candidate, i.e. the max);
* requantization ``m / 2**k ~= s_in * s_w / s_out`` with the largest k <= 32 that keeps
  ``m < 2**16`` (the most precise multiplier).  The effective activation scale
  ``s_in * s_w * 2**k / m`` is what the next layer's bias uses.  When the worst-case
  quotient would leave [-2**15, 2**15), ``m / 2**k`` is lowered (coarser activations)
  until it fits;
* pooling keeps its input's scale.  Max-pooling commutes with the monotone requantization
  and the clamp, so pooling the integer activations equals quantizing the pooled float
  ones; average pooling of the integer activations (rounded half up, as the proof system
  defines it) adds at most half a unit of rounding;
* a residual branch (identity skip a_j added before the ReLU) is requantized with the layer:
  ``q = (m*z + m_s*a_j + 2**(k-1)) >> k`` with ``m / 2**k ~= s_in * s_w / s_out`` and
  ``m_s / 2**k ~= s_j / s_out`` sharing the shift k; both are lowered together when the
  worst case (|z| at its bound, a_j = 127) would leave [-2**15, 2**15);
* a projection shortcut (a 1x1 convolution of a_j) has its own per-output-channel int8
  weights ``s_p[o] = max|W_p[o]| / 127`` and bias at scale ``s_j * s_p[o]``; its output z_p
  enters as ``q = (m*z + m_p*z_p + 2**(k-1)) >> k`` with ``m_p[o] / 2**k ~= s_j * s_p[o] / s_out``
  and the main branch's ``m[o] / 2**k ~= s_in * s_w[o] / s_out`` (per channel for a hidden
  convolution) sharing k; all are lowered together until the worst case fits.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from zkml.errors import FormatError, UnsupportedModelError
from zkml.formats.model import (ACT_MAX, BIAS_BITS, LOGIT_BITS, MULTIPLIER_BITS, QUOTIENT_BITS, SHIFT_MAX,
                    POOL_KINDS, SHIFT_MIN, WEIGHT_MAX, AvgPoolLayer, ConvLayer, DenseLayer, Layer,
                    MaxPoolLayer, Projection, QuantizedModel, Requant, requant_fits, requant_quotient,
                    row_bounds)
from zkml.frontend.onnx_import import FloatLayer, FloatLayerAny, FloatNet, load_float_net, load_onnx_model

PERCENTILES: tuple[float, ...] = (100.0, 99.99, 99.9, 99.5, 99.0)


def fuse_linear(layers: Sequence[FloatLayerAny]) -> list[FloatLayerAny]:
    """Merge every hidden dense layer without ReLU into the dense layer after it (exact in
    float); a hidden convolution (or residual layer) without ReLU is refused.  Residual
    branches are renumbered to the fused layers."""
    out: list[FloatLayerAny] = []
    number: dict[int, int] = {}  # 1-based layer number before fusing -> after
    pending: FloatLayer | None = None
    for i, l in enumerate(layers):
        if pending is not None:
            if l.kind != "dense":
                raise UnsupportedModelError(
                    f"the hidden layer {pending.source or i - 1} has no ReLU and is followed "
                    f"by a {l.kind} layer; every hidden layer must end in ReLU")
            l = replace(l, weight=l.weight @ pending.weight, bias=l.weight @ pending.bias + l.bias)
            pending = None
        residual = getattr(l, "residual", None)
        if l.kind in POOL_KINDS or l.relu or i == len(layers) - 1:
            if residual is not None:
                if residual not in number:
                    raise UnsupportedModelError(
                        f"the residual branch of {l.source or i} reads a layer without ReLU")
                l = replace(l, residual=number[residual])
            out.append(l)
            number[i + 1] = len(out)
        elif l.kind == "dense" and residual is None:
            pending = l
        else:
            raise UnsupportedModelError(
                f"the hidden {'convolution' if l.kind == 'conv' else 'layer'} {l.source or i} "
                "has no ReLU; every hidden layer must end in ReLU")
    if out[-1].kind != "dense":
        raise UnsupportedModelError("the last layer must be dense (the logits)")
    if out[-1].relu:
        raise UnsupportedModelError("a ReLU on the logits is not supported")
    if out[-1].residual is not None:
        raise UnsupportedModelError("the last layer cannot have a residual branch")
    return out


def choose_requant(ratio: float) -> tuple[int, int]:
    """(m, k) with m / 2**k ~= ratio, 1 <= m < 2**16, 1 <= k <= 32, k as large as possible."""
    if not np.isfinite(ratio) or ratio <= 0:
        raise UnsupportedModelError(f"requantization ratio {ratio!r} is not positive")
    for k in range(SHIFT_MAX, SHIFT_MIN - 1, -1):
        m = int(round(ratio * 2.0 ** k))
        if m < (1 << MULTIPLIER_BITS):
            if m < 1:
                break
            return m, k
    raise UnsupportedModelError(
        f"requantization ratio {ratio:.3g} cannot be written as m / 2**k with "
        f"1 <= m < 2**16 and 1 <= k <= 32")


def _fit_requant(m: int, k: int, zmax: int, where: str) -> tuple[int, int]:
    """Lower m / 2**k until the worst-case quotient fits in [-2**15, 2**15)."""
    if requant_fits(zmax, m, k):
        return m, k
    target = ((1 << QUOTIENT_BITS) - 1) / zmax
    for kk in range(SHIFT_MAX, SHIFT_MIN - 1, -1):
        mm = int(np.floor(target * 2.0 ** kk))
        if mm < (1 << MULTIPLIER_BITS):
            while mm >= 1 and not requant_fits(zmax, mm, kk):
                mm -= 1
            if mm >= 1:
                return mm, kk
            break
    raise UnsupportedModelError(
        f"{where}: the worst-case pre-activation |z| = {zmax} is too large for the proof "
        f"system's requantization range [-2**15, 2**15) even with the coarsest activation "
        f"scale; use fewer inputs per neuron or smaller weights")


def _residual_fits(zmax: int, m: int, m_skip: int, k: int) -> bool:
    """True when q = (m*z + m_skip*a + 2**(k-1)) >> k stays in [-2**15, 2**15) for every
    |z| <= zmax and a in [0, 127] (the bound QuantizedModel.validate checks)."""
    lo = requant_quotient(-m * zmax, 1, k)
    hi = requant_quotient(m * zmax + m_skip * ACT_MAX, 1, k)
    return lo >= -(1 << QUOTIENT_BITS) and hi < (1 << QUOTIENT_BITS)


def choose_residual_requant(ratio: float, skip_ratio: float, zmax: int,
                            where: str) -> tuple[int, int, int]:
    """(m, m_skip, k): m / 2**k ~= ratio and m_skip / 2**k ~= skip_ratio with one shift k (as
    large as both multipliers allow below 2**16); both ratios are lowered together (a coarser
    output scale) until the worst-case quotient fits."""
    if not all(np.isfinite(r) and r > 0 for r in (ratio, skip_ratio)):
        raise UnsupportedModelError(f"{where}: requantization ratios are not positive")
    need = (ratio * zmax + skip_ratio * ACT_MAX) / ((1 << QUOTIENT_BITS) - 2)
    scale = max(1.0, need)
    for _ in range(1000):
        r, rs = ratio / scale, skip_ratio / scale
        k = next((k for k in range(SHIFT_MAX, SHIFT_MIN - 1, -1)
                  if max(round(r * 2.0 ** k), round(rs * 2.0 ** k)) < (1 << MULTIPLIER_BITS)), None)
        m, m_skip = (0, 0) if k is None else (int(round(r * 2.0 ** k)), int(round(rs * 2.0 ** k)))
        if m < 1 or m_skip < 1:
            break
        if _residual_fits(zmax, m, m_skip, k):
            return m, m_skip, k
        scale *= 1.01
    raise UnsupportedModelError(
        f"{where}: the layer and its residual branch cannot be requantized together with "
        f"1 <= m, m_s < 2**16 and 1 <= k <= 32 (ratios {ratio:.3g} and {skip_ratio:.3g})")


def choose_projection_requant(ratios: np.ndarray, bounds: np.ndarray, p_ratios: np.ndarray,
                              p_bounds: np.ndarray, where: str) -> tuple[tuple[int, ...], tuple[int, ...], int, float]:
    """(m per channel, m_p per channel, k, factor): m[o] / 2**k ~= ratios[o] / factor and
    m_p[o] / 2**k ~= p_ratios[o] / factor with one shift k, the largest that keeps every
    multiplier < 2**16; the factor >= 1 (a coarser output scale for every channel) grows until
    every channel's worst case m |z| + m_p |z_p| keeps the quotient in [-2**15, 2**15)."""
    factor = 1.0
    for _ in range(2000):
        r, rp = np.asarray(ratios, np.float64) / factor, np.asarray(p_ratios, np.float64) / factor
        top = max(float(r.max()), float(rp.max()))
        k = next((k for k in range(SHIFT_MAX, SHIFT_MIN - 1, -1)
                  if int(np.round(top * 2.0 ** k)) < (1 << MULTIPLIER_BITS)), None)
        if k is None:
            break
        ms, mps = (tuple(max(1, int(v)) for v in np.round(x * 2.0 ** k)) for x in (r, rp))
        worst = [m * int(zm) + mp * int(zp) for m, zm, mp, zp in zip(ms, bounds, mps, p_bounds)]
        if all(requant_quotient(-w, 1, k) >= -(1 << QUOTIENT_BITS)
               and requant_quotient(w, 1, k) < (1 << QUOTIENT_BITS) for w in worst):
            return ms, mps, k, factor
        factor *= 1.01
    raise UnsupportedModelError(
        f"{where}: the layer and its projection shortcut cannot be requantized together with "
        "1 <= m, m_p < 2**16 and 1 <= k <= 32")


def _int_weights(weight: np.ndarray, bias: np.ndarray, s_in: float, per_channel: bool,
                 where: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """(W_int, b_int, s_w): int8 weights at scale s_w (per output channel or per tensor) and
    the bias at the accumulator's scale s_in * s_w."""
    s_w = _weight_scales(weight, per_channel)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    w_int = np.clip(np.rint(weight / np.reshape(s_w, shape)), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int64)
    b_f = np.rint(bias / (s_in * s_w))
    if np.any(np.abs(b_f) >= 2.0 ** (BIAS_BITS - 1)):
        raise UnsupportedModelError(
            f"{where}: a bias is more than 2**23 times the integer accumulator's unit "
            f"(|b| up to {float(np.abs(bias).max()):.3g}, unit {float(np.min(s_in * s_w)):.3g})")
    return w_int, b_f.astype(np.int64), s_w


def _weight_scales(weight: np.ndarray, per_channel: bool):
    """max|W| / 127 for the tensor, or per output channel (1.0 where the weights are all 0)."""
    if not per_channel:
        wmax = float(np.abs(weight).max()) if weight.size else 0.0
        return wmax / WEIGHT_MAX if wmax > 0 else 1.0
    wmax = np.abs(weight.reshape(len(weight), -1)).max(axis=1)
    return np.where(wmax > 0, wmax / WEIGHT_MAX, 1.0)


def choose_channel_requant(ratios: np.ndarray, bounds: np.ndarray, s_out: float,
                           where: str) -> tuple[tuple[int, ...], int, float]:
    """(m per channel, k, output scale): m[o] / 2**k ~= ratios[o] with one shift k, the largest
    that keeps every m[o] < 2**16. When a channel's worst-case quotient would leave
    [-2**15, 2**15), the output scale is made coarser for all channels together (the next
    layer needs one scale) until every channel fits."""
    scale = 1.0
    for _ in range(2000):
        r = np.asarray(ratios, dtype=np.float64) / scale
        k = next((k for k in range(SHIFT_MAX, SHIFT_MIN - 1, -1)
                  if int(np.round(r.max() * 2.0 ** k)) < (1 << MULTIPLIER_BITS)), None)
        if k is None:
            break
        ms = tuple(max(1, int(v)) for v in np.round(r * 2.0 ** k))
        if all(requant_fits(int(zm), m, k) for zm, m in zip(bounds, ms)):
            return ms, k, s_out * scale
        scale *= 1.01
    raise UnsupportedModelError(
        f"{where}: the worst-case pre-activation is too large for the proof system's "
        f"requantization range [-2**15, 2**15) even with the coarsest activation scale")


def build_quantized(fm: FloatNet, layers: Sequence[FloatLayerAny], input_scale: float,
                    act_scales: Sequence[float | None], per_channel_conv: bool = True) -> QuantizedModel:
    """Quantize fused float layers given the input scale and the target activation scale of
    every hidden dense/conv layer (``act_scales[i]``; ignored for pooling and the last layer).
    Hidden convolutions get per-channel weight scales unless per_channel_conv is False."""
    s_in = float(input_scale)
    qlayers: list[Layer] = []
    scales: list[float] = []
    last = len(layers) - 1
    for i, l in enumerate(layers):
        where = f"layer {i}" + (f" ({l.source})" if l.source else "")
        if l.kind in POOL_KINDS:
            pool = MaxPoolLayer if l.kind == "maxpool" else AvgPoolLayer
            qlayers.append(pool(tuple(l.kernel), tuple(l.stride), tuple(l.pads)))
            scales.append(s_in)
            continue
        residual = getattr(l, "residual", None)
        projection = getattr(l, "projection", None)
        per_channel = per_channel_conv and l.kind == "conv" and i < last and len(l.weight) > 1 \
            and (residual is None or projection is not None)
        w_int, b_int, s_w = _int_weights(l.weight, l.bias, s_in, per_channel, where)
        bounds = row_bounds(w_int.reshape(len(w_int), -1), b_int)
        zmax = int(bounds.max())
        if i < last:
            s_out = float(act_scales[i])  # type: ignore[arg-type]
            if projection is not None:   # the skip a_j has the scale of layer j's output
                s_j = scales[residual - 1]
                wp, bp, s_p = _int_weights(projection.weight, projection.bias, s_j, True, where + " projection")
                n = len(w_int)
                ms, mps, k, factor = choose_projection_requant(
                    np.broadcast_to(s_in * s_w / s_out, (n,)), bounds, s_j * s_p / s_out,
                    row_bounds(wp.reshape(n, -1), bp), where)
                proj = Projection(int(residual), wp, bp, tuple(projection.stride), mps)
                rq = Requant(ms if per_channel else ms[0], k, projection=proj)   # equal ms if not
                qlayers.append(ConvLayer(w_int, b_int, tuple(l.stride), tuple(l.pads), rq))
                s_out *= factor
                scales.append(s_out)
                s_in = s_out
                continue
            if per_channel:
                ms, k, s_out = choose_channel_requant(s_in * s_w / s_out, bounds, s_out, where)
                rq = Requant(ms, k)
                qlayers.append(ConvLayer(w_int, b_int, tuple(l.stride), tuple(l.pads), rq))
                scales.append(s_out)
                s_in = s_out
                continue
            if residual is None:
                m, k = choose_requant(s_in * s_w / s_out)
                m, k = _fit_requant(m, k, zmax, where)
                rq = Requant(int(m), int(k))
            else:  # the skip a_j has the scale of layer j's output
                m, m_skip, k = choose_residual_requant(s_in * s_w / s_out,
                                                       scales[residual - 1] / s_out, zmax, where)
                rq = Requant(int(m), int(k), residual=(int(residual), int(m_skip)))
            s_eff = s_in * s_w * 2.0 ** k / m
            qlayers.append(DenseLayer(w_int, b_int, rq) if l.kind == "dense" else
                           ConvLayer(w_int, b_int, tuple(l.stride), tuple(l.pads), rq))
            scales.append(s_eff)
            s_in = s_eff
        else:
            if zmax >= (1 << LOGIT_BITS):
                raise UnsupportedModelError(
                    f"last layer: worst-case |logit| = {zmax} does not fit below 2**{LOGIT_BITS}")
            qlayers.append(DenseLayer(w_int, b_int, None))
            scales.append(s_in * s_w)
    model = QuantizedModel(input_shape=tuple(fm.input_shape), input_scale=float(input_scale),
                           n_classes=fm.n_classes, layers=qlayers, scales=scales)
    model.validate()
    return model


def _check_calibration(x: Any, fm: FloatNet) -> np.ndarray:
    x = np.asarray(getattr(x, "x", x))
    if x.ndim < 2 or x.shape[0] == 0:
        raise FormatError(f"calibration data must have shape [N, ...] with N >= 1, got {x.shape}")
    if int(np.prod(x.shape[1:])) != fm.input_dim:
        raise FormatError(f"calibration samples have {int(np.prod(x.shape[1:]))} values; "
                          f"the model expects {fm.input_dim} (shape {fm.input_shape})")
    x = x.astype(np.float64).reshape(x.shape[0], fm.input_dim)
    if not np.all(np.isfinite(x)):
        raise FormatError("calibration data contains NaN or infinity")
    return x


def quantize(onnx_model: Any, calibration_x: np.ndarray,
             percentiles: Sequence[float] = PERCENTILES, per_channel: bool = True) -> QuantizedModel:
    """Quantize an ONNX MLP or CNN (bytes, path, ModelProto or FloatNet) using calibration
    inputs (float [N, ...] with the model's per-sample size)."""
    fm = onnx_model if isinstance(onnx_model, FloatNet) else load_float_net(onnx_model)
    layers = fuse_linear(fm.layers)
    x = _check_calibration(calibration_x, fm)
    xmax = float(np.abs(x).max())
    input_scale = xmax / ACT_MAX if xmax > 0 else 1.0

    fused = FloatNet(layers=layers, input_shape=fm.input_shape, n_classes=fm.n_classes)
    acts = fused.hidden(x)
    float_logits = acts[-1]
    float_pred = np.argmax(float_logits, axis=1)
    logit_norm = float(np.mean(float_logits ** 2)) or 1.0

    best: tuple[tuple[int, float], QuantizedModel] | None = None
    for p in percentiles:
        act_scales: list[float | None] = []
        for l, a in zip(layers[:-1], acts[:-1]):
            if l.kind in POOL_KINDS:
                act_scales.append(None)
                continue
            top = float(np.percentile(a, p)) if p < 100 else float(a.max())
            if top <= 0:
                top = float(a.max())
            act_scales.append(top / ACT_MAX if top > 0 else 1.0)
        model = build_quantized(fm, layers, input_scale, act_scales, per_channel)
        logits = model.forward_int(model.quantize_input(x))
        agree = int(np.sum(np.argmax(logits, axis=1) == float_pred))
        err = float(np.mean((logits * model.scales[-1] - float_logits) ** 2)) / logit_norm
        score = (agree, -err)
        if best is None or score > best[0]:
            best = (score, model)
    assert best is not None
    return best[1]


def _ort_session(onnx_model: Any) -> Any:
    import onnxruntime as ort

    model = load_onnx_model(onnx_model)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def float_predict(onnx_model: Any, x: np.ndarray) -> np.ndarray:
    """Predicted labels of the float ONNX model with onnxruntime.

    Uses the model's integer label output when it has one, else argmax of the first
    [N, C] float output.
    """
    sess = _ort_session(onnx_model)
    inp = sess.get_inputs()[0]
    dtype = np.float64 if inp.type == "tensor(double)" else np.float32
    x = np.asarray(x)
    shape = list(inp.shape)
    per = shape[1:]
    if all(isinstance(d, int) for d in per):
        x = x.reshape([x.shape[0], *per])
    x = x.astype(dtype)
    fixed_batch = isinstance(shape[0], int) and shape[0] != x.shape[0]
    outs = sess.get_outputs()
    label_idx = next((i for i, o in enumerate(outs)
                      if o.type in ("tensor(int64)", "tensor(int32)")), None)
    score_idx = next((i for i, o in enumerate(outs) if o.type.startswith("tensor(float")
                      or o.type == "tensor(double)"), None)
    if label_idx is None and score_idx is None:
        raise UnsupportedModelError("the model has neither a label nor a score output")

    def run(batch: np.ndarray) -> np.ndarray:
        res = sess.run(None, {inp.name: batch})
        if label_idx is not None:
            return np.asarray(res[label_idx]).reshape(len(batch)).astype(np.int64)
        return np.argmax(np.asarray(res[score_idx]).reshape(len(batch), -1), axis=1)

    if fixed_batch:  # a static batch size: run in chunks, zero-padding the last one
        size = shape[0]
        chunks = []
        for i in range(0, len(x), size):
            part = x[i:i + size]
            pad = np.zeros((size - len(part), *part.shape[1:]), dtype=part.dtype)
            chunks.append(run(np.concatenate([part, pad]))[:len(part)])
        return np.concatenate(chunks)
    return run(x)


def float_accuracy(onnx_model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the float ONNX model under onnxruntime."""
    return float(np.mean(float_predict(onnx_model, x) == np.asarray(y)))


def int_accuracy(model: QuantizedModel, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the integer model (the quantity the proof attests)."""
    return float(np.mean(model.predict(x) == np.asarray(y)))
