"""The quantized integer network that zkml proves, and its ``.zkm`` file format.

Integer semantics (the relation the prover proves, exactly)::

    x_int  = clamp(rint(float64(x) / input_scale), -127, 127)  # np.rint: half to even
    dense: z_l = a_{l-1} @ W_l.T + b_l                          # a flattened (C order)
    conv:  z_l[o, i, j] = sum_{c,u,v} W_l[o, c, u, v] a[c, i s_h + u - p_t, j s_w + v - p_l] + b_l[o]
                                                                # zero outside the input
    q_l    = floor((m_l * z_l + 2**(k_l - 1)) / 2**k_l)         # = (m*z + 2**(k-1)) >> k
    a_l    = clamp(q_l, 0, 127)                                 # ReLU folded into the clamp
    residual: m_l * z_l + m_s * a_j in q_l (identity skip from layer j), or with a projection
             shortcut m_l * z_l + m_p[o] * z_p[o], z_p = the 1x1 stride-s convolution of a_j
    maxpool: a_l[c, i, j] = max of a_{l-1}[c, i s + u - p_t, j s + v - p_l] over the window's
             positions inside the input                         # a_{l-1} >= 0 there
    avgpool: a_l[c, i, j] = floor((S + floor(K/2)) / K), S the sum of the window (zeros
             outside the input), K = kh * kw                     # count_include_pad; also
                                                                # GlobalAveragePool (K = H W)
    logits = z_L                                                # last layer (dense): no requant
    label  = first index of the maximum of logits               # numpy argmax rule

Bounds checked by :meth:`QuantizedModel.validate` (and therefore by ``load``):
weights in [-128, 127] (the quantizer writes [-127, 127]), biases in [-2**23, 2**23), 1 <= m < 2**16, 1 <= k <= 32,
for every hidden layer and every reachable z: -2**15 <= q < 2**15, and for the
last layer every reachable |logit| < 2**30.  "Reachable" uses the per-row bound
``|z_i| <= 127 * sum_j |W_ij| + |b_i|`` (inputs and activations lie in
[-127, 127]); it never exceeds the coarse bound ``127*128*in + max|b|``.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
import math
from typing import BinaryIO, Union

import numpy as np

from zkml.errors import FormatError, UnsupportedModelError
from zkml.formats.inputs import quantize_array  # noqa: F401  (re-exported: model.quantize_array)
from zkml.formats.jsonutil import canonical_json, parse_json

# --- constants shared with the prover/verifier ---------------------------------
from zkml.constants import (ACT_MAX, ARCH_FORMAT, BIAS_BITS, LOGIT_BITS, MAX_POOL_KERNEL,  # noqa: E402
                            MULTIPLIER_BITS, NET_ARCH_FORMAT, QUOTIENT_BITS, SHIFT_MAX, SHIFT_MIN,
                            WEIGHT_MAX, WEIGHT_MIN)

MAGIC = b"ZKMMODEL"
FORMAT_VERSION = 1

_HEADER = struct.Struct(">HI")  # version (uint16), JSON header length (uint32), big-endian
_MAX_HEADER = 1 << 20
_DIGEST_LEN = 32


# --- small helpers ---------------------------------------------------------------
def architecture_digest(arch: dict) -> bytes:
    """SHA-256 of the canonical JSON of an architecture dict (what the transcript absorbs)."""
    return hashlib.sha256(canonical_json(arch)).digest()


def float_repr(x: float) -> str:
    """Exact, round-trippable text form of a float (Python's shortest repr)."""
    return repr(float(x))


def requant(z: np.ndarray, multiplier, shift: int, extra: np.ndarray | int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return (q, a): q = (m*z + extra + 2**(k-1)) >> k (floor), a = clamp(q, 0, 127). A
    per-channel multiplier (a sequence) applies along axis 1 of z ([N, out] or [N, C, H, W]);
    extra is a residual branch already scaled (m_s * a_j)."""
    m = np.int64(multiplier) if np.ndim(multiplier) == 0 else \
        np.asarray(multiplier, dtype=np.int64).reshape((1, -1) + (1,) * (z.ndim - 2))
    q = (m * z + extra + np.int64(1 << (shift - 1))) >> np.int64(shift)
    return q, np.clip(q, 0, ACT_MAX)


def requant_quotient(z: int, multiplier: int, shift: int) -> int:
    """Python-int version of the requant quotient (floor division), for bound checks."""
    return (multiplier * z + (1 << (shift - 1))) >> shift


def row_bounds(weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Per-output worst-case |z|: 127 * sum_j |W_ij| + |b_i| (Python ints, exact)."""
    w = np.abs(weight.astype(np.int64)).sum(axis=1)
    return ACT_MAX * w + np.abs(bias.astype(np.int64))


def requant_fits(zmax: int, multiplier: int, shift: int) -> bool:
    """True when q stays in [-2**15, 2**15) for every integer z with |z| <= zmax."""
    lo, hi = -(1 << QUOTIENT_BITS), 1 << QUOTIENT_BITS
    # q is monotone in z, so the extremes are at z = -zmax and z = +zmax.
    return requant_quotient(-zmax, multiplier, shift) >= lo and \
        requant_quotient(zmax, multiplier, shift) < hi


# --- the model -------------------------------------------------------------------
@dataclass
class Requant:
    """Hidden-layer requantization: a = clamp(floor((m*z + 2**(k-1)) / 2**k), 0, 127); with a
    residual branch (j, m_s): a = clamp(floor((m*z + m_s*a_j + 2**(k-1)) / 2**k), 0, 127), a_j
    the output of layer j (1-based, an earlier layer with the same output shape)."""

    multiplier: int | tuple[int, ...]  # m, 1 <= m < 2**16; or one per output channel
    shift: int       # k, 1 <= k <= 32
    residual: tuple[int, int] | None = None   # (layer j, multiplier m_s)
    projection: "Projection | None" = None    # a projection shortcut instead of the identity


@dataclass
class Projection:
    """A projection shortcut of a hidden conv layer: z_p = 1x1 convolution (stride s, no
    padding) of layer j's output a_j, added per output channel o as m_p[o] * z_p[o] before the
    layer's requantization (shared shift k): q = (m*z + m_p*z_p + 2**(k-1)) >> k."""

    source: int                  # j, 1-based
    weight: np.ndarray           # int64 [out_channels, channels of a_j, 1, 1], in [-128, 127]
    bias: np.ndarray             # int64 [out_channels], in [-2**23, 2**23)
    stride: tuple[int, int]
    multiplier: tuple[int, ...]  # m_p, one per output channel, 1 <= m_p < 2**16

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    def conv(self) -> "ConvLayer":
        """The projection as a convolution layer (for its forward pass and shapes)."""
        return ConvLayer(self.weight, self.bias, self.stride, (0, 0, 0, 0), None)

    def scaled(self, a_j: np.ndarray) -> np.ndarray:
        """m_p * z_p for a_j [N, C, H, W] (the term added before the requantization)."""
        m = np.asarray(self.multiplier, dtype=np.int64).reshape(1, -1, 1, 1)
        return m * self.conv().forward(a_j)


@dataclass
class DenseLayer:
    """y = x @ weight.T + bias, in integers (x flattened in C order)."""

    weight: np.ndarray        # int64 [out, in], values in [-128, 127]
    bias: np.ndarray          # int64 [out], values in [-2**23, 2**23)
    requant: Requant | None   # None for the last layer (raw int logits)
    kind = "dense"

    @property
    def in_dim(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_dim(self) -> int:
        return int(self.weight.shape[0])

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.out_dim,)

    def forward(self, a: np.ndarray) -> np.ndarray:
        # float64 BLAS product is exact: every partial sum is an integer of magnitude
        # <= 127 * 127 * in < 2**53, so it equals the int64 product (much faster).
        a = a.reshape(len(a), -1)
        z = np.rint(a.astype(np.float64) @ self.weight.T.astype(np.float64))
        return z.astype(np.int64) + self.bias


def conv_output_size(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int) -> int:
    """Output length of a convolution or pooling along one axis (floor mode)."""
    return (size + pad_begin + pad_end - kernel) // stride + 1


def _windows(a: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
             pads: tuple[int, int, int, int], fill: int) -> np.ndarray:
    """[N, C, H, W] -> [N, C, OH, OW, KH, KW] views of the padded input's windows."""
    pt, pl, pb, pr = pads
    padded = np.pad(a, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=(2, 3))
    return win[:, :, ::stride[0], ::stride[1]]


@dataclass
class ConvLayer:
    """2-D convolution (group 1, dilation 1), then requantization, in integers."""

    weight: np.ndarray        # int64 [out_channels, in_channels, kh, kw], values in [-128, 127]
    bias: np.ndarray          # int64 [out_channels]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]   # top, left, bottom, right (ONNX order: begins, ends)
    requant: Requant | None
    kind = "conv"

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        _, h, w = in_shape
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = self.kernel, self.stride, self.pads
        return (int(self.weight.shape[0]), conv_output_size(h, kh, sh, pt, pb),
                conv_output_size(w, kw, sw, pl, pr))

    def forward(self, a: np.ndarray) -> np.ndarray:
        w = self.weight.astype(np.float64)
        out = []
        for i in range(0, len(a), 256):     # bounded memory for the window copies
            win = _windows(a[i:i + 256], self.kernel, self.stride, self.pads, 0).astype(np.float64)
            z = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))          # [n, OH, OW, OC]
            out.append(np.rint(z).astype(np.int64).transpose(0, 3, 1, 2))
        return np.concatenate(out) + self.bias[None, :, None, None]


@dataclass
class MaxPoolLayer:
    """Max over each window of the (non-negative) activations; positions outside the input
    are skipped (ONNX pads MaxPool with -inf)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]
    kind = "maxpool"
    requant = None

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = in_shape
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = self.kernel, self.stride, self.pads
        return (c, conv_output_size(h, kh, sh, pt, pb), conv_output_size(w, kw, sw, pl, pr))

    def forward(self, a: np.ndarray) -> np.ndarray:
        fill = np.iinfo(np.int64).min
        return np.concatenate([_windows(a[i:i + 1024], self.kernel, self.stride, self.pads, fill).max(axis=(4, 5))
                               for i in range(0, len(a), 1024)])


@dataclass
class AvgPoolLayer:
    """Average over each window, rounded half up in integers: floor((sum + K // 2) / K) with
    K = kh * kw (positions outside the input count as zeros: ONNX count_include_pad=1)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]
    kind = "avgpool"
    requant = None
    out_shape = MaxPoolLayer.out_shape

    @property
    def count(self) -> int:
        return int(self.kernel[0] * self.kernel[1])

    def forward(self, a: np.ndarray) -> np.ndarray:
        sums = np.concatenate([_windows(a[i:i + 1024], self.kernel, self.stride, self.pads, 0).sum(axis=(4, 5))
                               for i in range(0, len(a), 1024)])
        return (sums + self.count // 2) // self.count


Layer = Union[DenseLayer, ConvLayer, MaxPoolLayer, AvgPoolLayer]
WEIGHTED_KINDS = ("dense", "conv")
POOL_KINDS = ("maxpool", "avgpool")


@dataclass
class QuantizedModel:
    """A quantized network: int8 weights, int biases, fixed-point requantization between layers."""

    input_shape: tuple[int, ...]
    input_scale: float
    n_classes: int
    layers: list[Layer]
    scales: list[float]
    opening: bytes | None = field(default=None, repr=False)

    # -- inference ---------------------------------------------------------------
    @property
    def input_dim(self) -> int:
        return int(np.prod(self.input_shape, dtype=np.int64))

    @property
    def is_mlp(self) -> bool:
        return all(l.kind == "dense" for l in self.layers)

    def shapes(self) -> list[tuple[int, ...]]:
        """Per-sample shapes: the input's, then every layer's output."""
        out = [tuple(int(d) for d in self.input_shape)]
        for l in self.layers:
            out.append(l.out_shape(out[-1]))
        return out

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """float [N, *input_shape] (or [N, d0]) -> int64 [N, d0]."""
        x = np.asarray(x)
        if x.ndim < 2 or int(np.prod(x.shape[1:], dtype=np.int64)) != self.input_dim:
            raise FormatError(f"input shape {tuple(x.shape)} does not match the model's "
                              f"per-sample shape {self.input_shape}")
        return quantize_array(x, self.input_scale)

    def hidden_int(self, x_int: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Every layer's pre-activation z and post-activation a (None for the last layer);
        for a pooling layer both are its output. Shapes are [N, *layer output shape]."""
        a = np.asarray(x_int)
        if a.ndim != 2 or a.shape[1] != self.input_dim:
            raise FormatError(f"x_int must have shape [N, {self.input_dim}], got {a.shape}")
        if not np.issubdtype(a.dtype, np.integer):
            raise FormatError("x_int must be an integer array")
        a = a.astype(np.int64).reshape(len(a), *self.input_shape)
        out: list[tuple[np.ndarray, np.ndarray | None]] = []
        for layer in self.layers:
            if layer.kind == "conv" and a.ndim != 4:
                a = a.reshape(len(a), *self.input_shape)
            z = layer.forward(a)
            if layer.kind in POOL_KINDS:
                a = z
                out.append((z, z))
            elif layer.requant is None:
                out.append((z, None))
            else:
                extra = 0
                if layer.requant.residual is not None:
                    j, ms = layer.requant.residual
                    extra = np.int64(ms) * out[j - 1][1].reshape(z.shape)
                proj = layer.requant.projection
                if proj is not None:
                    extra = proj.scaled(out[proj.source - 1][1].reshape((len(z),) + self.shapes()[proj.source]))
                _, a = requant(z, layer.requant.multiplier, layer.requant.shift, extra)
                out.append((z, a))
        return out

    def forward_int(self, x_int: np.ndarray) -> np.ndarray:
        """int64 [N, d0] -> int64 logits [N, n_classes], exact integer arithmetic."""
        return self.hidden_int(x_int)[-1][0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class per sample (argmax of integer logits, first maximum wins)."""
        return np.argmax(self.forward_int(self.quantize_input(x)), axis=1).astype(np.int64)

    # -- public description ------------------------------------------------------
    def parameter_count(self) -> int:
        return int(sum(t.size for l in self.layers for t in _weight_tensors(l)))

    def architecture(self) -> dict:
        """Public, JSON-able, canonical description (no weights)."""
        def rq(l):
            if l.requant is None:
                return None
            d = {"multiplier": _multiplier_json(l.requant.multiplier), "shift": int(l.requant.shift)}
            if l.requant.residual is not None:
                d["residual"] = {"from": int(l.requant.residual[0]), "multiplier": int(l.requant.residual[1])}
            p = l.requant.projection
            if p is not None:
                d["projection"] = {"from": int(p.source), "kernel": [int(k) for k in p.kernel],
                                   "stride": [int(v) for v in p.stride], "multiplier": [int(v) for v in p.multiplier]}
            return d

        shapes = self.shapes()
        layers = []
        for l, sin, sout in zip(self.layers, shapes, shapes[1:]):
            if l.kind == "dense":
                d = {"in": l.in_dim, "out": l.out_dim, "requant": rq(l)}
                if not self.is_mlp:
                    d["kind"] = "dense"
            else:
                d = {"kind": l.kind, "in_shape": list(sin), "out_shape": list(sout),
                     "in": int(np.prod(sin)), "out": int(np.prod(sout)),
                     "kernel": [int(k) for k in l.kernel], "stride": [int(s) for s in l.stride],
                     "pads": [int(p) for p in l.pads]}
                if l.kind == "conv":
                    d["requant"] = rq(l)
            layers.append(d)
        return {
            "format": ARCH_FORMAT if self.is_mlp else NET_ARCH_FORMAT,
            "input_shape": [int(d) for d in self.input_shape],
            "input_scale": float_repr(self.input_scale),
            "n_classes": int(self.n_classes),
            "layers": layers,
            "scales": [float_repr(s) for s in self.scales],
            "parameter_count": self.parameter_count(),
        }

    def architecture_digest(self) -> bytes:
        """SHA-256 of the canonical JSON of :meth:`architecture`."""
        return architecture_digest(self.architecture())

    # -- checks ------------------------------------------------------------------
    def validate(self) -> None:
        """Check shapes, value ranges and the proof system's bounds.

        Raises FormatError for malformed content and UnsupportedModelError when the
        model is well formed but violates a bound the proof system relies on.
        """
        if not self.layers:
            raise FormatError("model has no layers")
        if not self.input_shape or any(int(d) < 1 for d in self.input_shape):
            raise FormatError(f"bad input shape {self.input_shape}")
        s = float(self.input_scale)
        if not np.isfinite(s) or s <= 0:
            raise FormatError(f"input_scale must be a positive finite float, got {s!r}")
        if len(self.scales) != len(self.layers):
            raise FormatError(f"{len(self.scales)} scales for {len(self.layers)} layers")
        if any(not np.isfinite(float(v)) or float(v) <= 0 for v in self.scales):
            raise FormatError("scales must be positive finite floats")
        if self.opening is not None and not isinstance(self.opening, (bytes, bytearray)):
            raise FormatError("opening must be bytes")
        shape = tuple(int(d) for d in self.input_shape)
        last = len(self.layers) - 1
        for i, l in enumerate(self.layers):
            if l.kind in ("conv",) + POOL_KINDS:
                shape = self._validate_spatial(i, l, shape)
                if l.kind in POOL_KINDS:
                    if i == 0 or i == last:
                        raise FormatError(f"layer {i}: pooling must sit between two layers")
                    continue
            else:
                prev = int(np.prod(shape))
                w = l.weight
                if not isinstance(w, np.ndarray) or w.dtype != np.int64 or w.ndim != 2:
                    raise FormatError(f"layer {i}: weight must be an int64 matrix")
                if w.shape[0] < 1:
                    raise FormatError(f"layer {i}: no outputs")
                if w.shape[1] != prev:
                    raise FormatError(f"layer {i}: expects {w.shape[1]} inputs but gets {prev}")
                shape = (int(w.shape[0]),)
            self._validate_weights(i, l, i == last)
            if l.requant is not None and l.requant.residual is not None:
                self._validate_residual(i, l)
            if l.requant is not None and l.requant.projection is not None:
                self._validate_projection(i, l)
        if self.layers[-1].kind != "dense":
            raise FormatError("the last layer must be dense (the logits)")
        if shape[0] != self.n_classes:
            raise FormatError(f"last layer has {shape[0]} outputs but n_classes = {self.n_classes}")
        if self.n_classes < 2:
            raise FormatError("n_classes must be at least 2")

    @staticmethod
    def _validate_spatial(i: int, l, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3:
            raise FormatError(f"layer {i}: {l.kind} needs a [C, H, W] input, got {list(shape)}")
        try:
            kernel = tuple(int(k) for k in l.kernel)
            stride = tuple(int(s) for s in l.stride)
            pads = tuple(int(p) for p in l.pads)
        except (TypeError, ValueError):
            raise FormatError(f"layer {i}: kernel, stride and pads must be integers") from None
        if len(kernel) != 2 or len(stride) != 2 or len(pads) != 4:
            raise FormatError(f"layer {i}: 2-D kernel, stride and 4 pads expected")
        if min(kernel) < 1 or min(stride) < 1 or min(pads) < 0 or max(kernel) > 64 or max(stride) > 64:
            raise FormatError(f"layer {i}: bad kernel {kernel}, stride {stride} or pads {pads}")
        if any(pads[a] >= kernel[a % 2] for a in range(4)):
            raise FormatError(f"layer {i}: padding must be smaller than the kernel")
        if l.kind == "maxpool" and (max(kernel) > MAX_POOL_KERNEL or any(s > k for s, k in zip(stride, kernel))):
            raise UnsupportedModelError(f"layer {i}: max-pooling supports kernels up to "
                                        f"{MAX_POOL_KERNEL} with stride <= kernel")
        if l.kind == "conv":
            w = l.weight
            if not isinstance(w, np.ndarray) or w.dtype != np.int64 or w.ndim != 4 or w.shape[0] < 1:
                raise FormatError(f"layer {i}: conv weight must be int64 [out, in, kh, kw]")
            if w.shape[1] != shape[0]:
                raise FormatError(f"layer {i}: expects {w.shape[1]} input channels but gets {shape[0]}")
        out = l.out_shape(shape)
        if min(out) < 1:
            raise FormatError(f"layer {i}: the {l.kind} window is larger than its input {list(shape)}")
        return out

    def _validate_residual(self, i: int, l) -> None:
        """The residual branch reads an earlier layer's activations of the same shape; the
        quotient stays in [-2**15, 2**15) for every reachable z and a_j in [0, 127]."""
        try:
            j, ms = (int(v) for v in l.requant.residual)
        except (TypeError, ValueError):
            raise FormatError(f"layer {i}: residual must be (layer, multiplier)") from None
        shapes = self.shapes()
        if not 1 <= j <= i or self.layers[j - 1].requant is None and self.layers[j - 1].kind not in POOL_KINDS:
            raise FormatError(f"layer {i}: the residual branch must read an earlier hidden layer's output")
        if shapes[j] != shapes[i + 1]:
            raise FormatError(f"layer {i}: residual shapes differ ({list(shapes[j])} and {list(shapes[i + 1])})")
        if not 1 <= ms < (1 << MULTIPLIER_BITS):
            raise FormatError(f"layer {i}: residual multiplier {ms} outside [1, 2**16)")
        w, k = l.weight, int(l.requant.shift)
        bounds = row_bounds(w.reshape(w.shape[0], -1), l.bias)
        ms_list = l.requant.multiplier if isinstance(l.requant.multiplier, (tuple, list)) else [l.requant.multiplier] * len(bounds)
        for m, zm in zip(ms_list, bounds):
            lo = requant_quotient(-int(m) * int(zm), 1, k)
            hi = requant_quotient(int(m) * int(zm) + ms * ACT_MAX, 1, k)
            if lo < -(1 << QUOTIENT_BITS) or hi >= 1 << QUOTIENT_BITS:
                raise UnsupportedModelError(f"layer {i}: requantization quotient with the residual branch "
                                            "can leave [-2**15, 2**15)")

    def _validate_projection(self, i: int, l) -> None:
        """A projection shortcut: a 1x1 convolution without padding of an earlier hidden
        layer's output onto this conv layer's output shape; the quotient stays in
        [-2**15, 2**15) for every reachable z and z_p."""
        p, rq = l.requant.projection, l.requant
        if l.kind != "conv" or rq.residual is not None:
            raise FormatError(f"layer {i}: a projection shortcut needs a conv layer without an identity skip")
        j = p.source
        if type(j) is not int or not 1 <= j <= i or self.layers[j - 1].requant is None \
                and self.layers[j - 1].kind not in POOL_KINDS:
            raise FormatError(f"layer {i}: the projection must read an earlier hidden layer's output")
        w, b = p.weight, p.bias
        if not isinstance(w, np.ndarray) or w.dtype != np.int64 or w.ndim != 4 or tuple(w.shape[2:]) != (1, 1):
            raise FormatError(f"layer {i}: the projection's weight must be int64 [out, in, 1, 1]")
        try:
            stride = tuple(int(v) for v in p.stride)
        except (TypeError, ValueError):
            raise FormatError(f"layer {i}: the projection's stride must be integers") from None
        if len(stride) != 2 or min(stride) < 1 or max(stride) > 64:
            raise FormatError(f"layer {i}: bad projection stride {p.stride}")
        shapes = self.shapes()
        src = shapes[j]
        if len(src) != 3 or w.shape[1] != src[0] or p.conv().out_shape(src) != shapes[i + 1]:
            raise FormatError(f"layer {i}: the projection of layer {j}'s output {list(src)} does not give "
                              f"the layer's output shape {list(shapes[i + 1])}")
        self._validate_weights(i, p.conv(), True, check_logits=False)
        mp = p.multiplier
        if not isinstance(mp, (tuple, list)) or len(mp) != w.shape[0] or \
                not all(type(v) is int and 1 <= v < (1 << MULTIPLIER_BITS) for v in mp):
            raise FormatError(f"layer {i}: one projection multiplier in [1, 2**16) per output channel")
        k = int(rq.shift)
        bounds = row_bounds(l.weight.reshape(len(l.weight), -1), l.bias)
        pbounds = row_bounds(w.reshape(len(w), -1), b)
        ms = rq.multiplier if isinstance(rq.multiplier, (tuple, list)) else [rq.multiplier] * len(bounds)
        for m, zm, m_p, zp in zip(ms, bounds, mp, pbounds):
            worst = int(m) * int(zm) + int(m_p) * int(zp)
            if requant_quotient(-worst, 1, k) < -(1 << QUOTIENT_BITS) or \
                    requant_quotient(worst, 1, k) >= 1 << QUOTIENT_BITS:
                raise UnsupportedModelError(f"layer {i}: requantization quotient with the projection "
                                            "shortcut can leave [-2**15, 2**15)")

    @staticmethod
    def _validate_weights(i: int, l, is_last: bool, check_logits: bool = True) -> None:
        w, b = l.weight, l.bias
        if not isinstance(b, np.ndarray) or b.dtype != np.int64 or b.shape != (w.shape[0],):
            raise FormatError(f"layer {i}: bias must be int64 of shape [{w.shape[0]}]")
        if w.size and (int(w.min()) < WEIGHT_MIN or int(w.max()) > WEIGHT_MAX):
            raise FormatError(f"layer {i}: weights outside [{WEIGHT_MIN}, {WEIGHT_MAX}]")
        half = 1 << (BIAS_BITS - 1)
        if int(b.min()) < -half or int(b.max()) >= half:
            raise FormatError(f"layer {i}: biases outside [-2**{BIAS_BITS - 1}, 2**{BIAS_BITS - 1})")
        zmax = int(row_bounds(w.reshape(w.shape[0], -1), b).max())
        if not is_last:
            rq = l.requant
            if rq is None:
                raise FormatError(f"layer {i}: hidden layer without requantization")
            ms = rq.multiplier if isinstance(rq.multiplier, (tuple, list)) else [rq.multiplier]
            k = rq.shift
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in list(ms) + [k]):
                raise FormatError(f"layer {i}: multiplier and shift must be ints")
            if len(ms) not in (1, w.shape[0]) or isinstance(rq.multiplier, (tuple, list)) and len(ms) < 2:
                raise FormatError(f"layer {i}: one multiplier, or one per output channel ({w.shape[0]})")
            k = int(k)
            if not (SHIFT_MIN <= k <= SHIFT_MAX):
                raise FormatError(f"layer {i}: shift {k} outside [1, 32]")
            bounds = row_bounds(w.reshape(w.shape[0], -1), b)
            for o, m in enumerate(int(v) for v in ms):
                if not (1 <= m < (1 << MULTIPLIER_BITS)):
                    raise FormatError(f"layer {i}: multiplier {m} outside [1, 2**16)")
                zm = zmax if len(ms) == 1 else int(bounds[o])
                if not requant_fits(zm, m, k):
                    raise UnsupportedModelError(
                        f"layer {i}: requantization quotient can leave [-2**15, 2**15) "
                        f"(worst-case |z| = {zm}, m = {m}, k = {k})")
        elif check_logits:
            if l.requant is not None:
                raise FormatError("last layer must not have requantization")
            if zmax >= (1 << LOGIT_BITS):
                raise UnsupportedModelError(
                    f"last layer: worst-case |logit| = {zmax} does not fit below 2**30")

    # -- file format ---------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Canonical ``.zkm`` bytes.

        Layout: ``b"ZKMMODEL"`` | version uint16 BE | header length uint32 BE |
        canonical JSON header {"architecture", "opening_length"} |
        for each dense or conv layer: weight then bias (then a projection shortcut's weight and
        bias), little-endian int64, C order |
        opening bytes | SHA-256 of everything before it.
        """
        self.validate()
        header = canonical_json({
            "architecture": self.architecture(),
            "opening_length": None if self.opening is None else len(self.opening),
        })
        parts = [MAGIC, _HEADER.pack(FORMAT_VERSION, len(header)), header]
        for l in self.layers:
            parts += [np.ascontiguousarray(t, dtype="<i8").tobytes() for t in _weight_tensors(l)]
        if self.opening is not None:
            parts.append(bytes(self.opening))
        body = b"".join(parts)
        return body + hashlib.sha256(body).digest()

    @classmethod
    def from_bytes(cls, data: bytes) -> "QuantizedModel":
        """Parse and validate ``.zkm`` bytes; FormatError on anything malformed."""
        data = bytes(data)
        if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
            raise FormatError("not a zkml model file (wrong magic; expected b'ZKMMODEL')")
        pos = len(MAGIC)
        if len(data) < pos + _HEADER.size + _DIGEST_LEN:
            raise FormatError("model file is truncated")
        version, hlen = _HEADER.unpack_from(data, pos)
        if version != FORMAT_VERSION:
            raise FormatError(f"unsupported model file version {version} "
                              f"(this zkml reads version {FORMAT_VERSION})")
        pos += _HEADER.size
        if hlen > _MAX_HEADER or pos + hlen + _DIGEST_LEN > len(data):
            raise FormatError("model file is truncated (header)")
        body, digest = data[:-_DIGEST_LEN], data[-_DIGEST_LEN:]
        header = parse_json(bytes(data[pos: pos + hlen]), "model file header")
        pos += hlen
        try:
            arch = header["architecture"]
            opening_len = header["opening_length"]
            shapes = [_weight_shape(ld) for ld in arch["layers"]]
            pshapes = [_projection_shape(arch, ld) for ld in arch["layers"]]
            if any(s is not None and (min(s) < 1 or math.prod(s) > (1 << 32)) for s in shapes + pshapes):
                raise FormatError("bad layer dimensions in header")
            need = sum(8 * (math.prod(s) + s[0]) for s in shapes + pshapes if s is not None) + (opening_len or 0)
        except FormatError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"model file header is malformed: {e!r}") from None
        if opening_len is not None and (type(opening_len) is not int or opening_len < 0):
            raise FormatError("model file header: bad opening_length")
        if len(body) - pos != need:
            raise FormatError(f"model file is truncated or has trailing bytes "
                              f"(payload {len(body) - pos} bytes, expected {need})")
        if hashlib.sha256(body).digest() != digest:
            raise FormatError("model file checksum mismatch (corrupted file)")
        layers: list[Layer] = []
        try:
            def tensors(shape):
                nonlocal pos
                n = math.prod(shape)
                w = np.frombuffer(data, dtype="<i8", count=n, offset=pos).reshape(shape).astype(np.int64)
                b = np.frombuffer(data, dtype="<i8", count=shape[0], offset=pos + 8 * n).astype(np.int64)
                pos += 8 * (n + shape[0])
                return w, b

            for shape, pshape, ld in zip(shapes, pshapes, arch["layers"]):
                if shape is None:
                    pool = MaxPoolLayer if ld["kind"] == "maxpool" else AvgPoolLayer
                    layers.append(pool(_pair(ld["kernel"]), _pair(ld["stride"]), _quad(ld["pads"])))
                    continue
                w, b = tensors(shape)
                rq = ld["requant"]
                requant_ = None if rq is None else Requant(_multiplier_value(rq["multiplier"]), int(rq["shift"]),
                                                           _residual_value(rq.get("residual")))
                if pshape is not None:
                    requant_.projection = _projection_value(rq["projection"], *tensors(pshape))
                if len(shape) == 4:
                    layers.append(ConvLayer(w, b, _pair(ld["stride"]), _quad(ld["pads"]), requant_))
                else:
                    layers.append(DenseLayer(w, b, requant_))
            opening = None if opening_len is None else data[pos: pos + opening_len]
            model = cls(
                input_shape=tuple(int(d) for d in arch["input_shape"]),
                input_scale=float(arch["input_scale"]),
                n_classes=int(arch["n_classes"]),
                layers=layers,
                scales=[float(s) for s in arch["scales"]],
                opening=opening,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"model file header is malformed: {e!r}") from None
        model.validate()
        if canonical_json(model.architecture()) != canonical_json(arch):
            raise FormatError("model file header does not match its content "
                              "(non-canonical architecture)")
        return model

    def save(self, path: str | os.PathLike | BinaryIO) -> None:
        """Write the canonical ``.zkm`` bytes (atomically when given a path)."""
        data = self.to_bytes()
        if hasattr(path, "write"):
            path.write(data)  # type: ignore[union-attr]
            return
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike | BinaryIO) -> "QuantizedModel":
        """Read and validate a ``.zkm`` file; FormatError when it is malformed."""
        if hasattr(path, "read"):
            data = path.read()  # type: ignore[union-attr]
        else:
            try:
                with open(os.fspath(path), "rb") as f:
                    data = f.read()
            except IsADirectoryError:
                raise FormatError(f"{path} is a directory, not a model file") from None
        return cls.from_bytes(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantizedModel):
            return NotImplemented
        return (self.architecture() == other.architecture() and self.opening == other.opening
                and all(np.array_equal(s, t) for a, b in zip(self.layers, other.layers)
                        for s, t in zip(_weight_tensors(a), _weight_tensors(b))))


def _weight_tensors(layer) -> list[np.ndarray]:
    """A layer's weight and bias, then its projection shortcut's (the file's order)."""
    if layer.kind not in WEIGHTED_KINDS:
        return []
    p = None if layer.requant is None else layer.requant.projection
    return [layer.weight, layer.bias] + ([] if p is None else [p.weight, p.bias])


def _multiplier_json(m):
    """A per-tensor multiplier as an int, per-channel multipliers as a list of ints."""
    return [int(v) for v in m] if isinstance(m, (tuple, list, np.ndarray)) else int(m)


def _multiplier_value(m):
    if isinstance(m, list):
        if not all(type(v) is int for v in m):
            raise ValueError("multipliers must be integers")
        return tuple(m)
    return int(m)


def _residual_value(r) -> tuple[int, int] | None:
    if r is None:
        return None
    if set(r) != {"from", "multiplier"} or not all(type(r[k]) is int for k in r):
        raise ValueError("residual must be {from, multiplier} integers")
    return int(r["from"]), int(r["multiplier"])


def _projection_value(d, weight: np.ndarray, bias: np.ndarray) -> Projection:
    if set(d) != {"from", "kernel", "stride", "multiplier"} or type(d["from"]) is not int:
        raise ValueError("projection must be {from, kernel, stride, multiplier}")
    if _pair(d["kernel"]) != (int(weight.shape[2]), int(weight.shape[3])):
        raise ValueError("projection kernel does not match its weights")
    return Projection(int(d["from"]), weight, bias, _pair(d["stride"]), _multiplier_value(d["multiplier"]))


def _projection_shape(arch: dict, ld: dict) -> tuple[int, ...] | None:
    """The weight shape of a layer entry's projection shortcut (None: no projection)."""
    p = (ld.get("requant") or {}).get("projection")
    if p is None:
        return None
    j = int(p["from"])
    if not 1 <= j <= len(arch["layers"]):
        raise ValueError("projection must read an earlier layer")
    src = arch["layers"][j - 1]
    channels = int(src["out_shape"][0]) if "out_shape" in src else int(src["out"])
    return (int(ld["out_shape"][0]), channels) + _pair(p["kernel"])


def _pair(v) -> tuple[int, int]:
    a, b = (int(x) for x in v)
    return a, b


def _quad(v) -> tuple[int, int, int, int]:
    a, b, c, d = (int(x) for x in v)
    return a, b, c, d


def _weight_shape(ld: dict) -> tuple[int, ...] | None:
    """The weight shape an architecture layer entry implies (None: no weights)."""
    kind = ld.get("kind", "dense")
    if kind == "dense":
        return int(ld["out"]), int(ld["in"])
    if kind == "conv":
        return (int(ld["out_shape"][0]), int(ld["in_shape"][0])) + _pair(ld["kernel"])
    if kind in POOL_KINDS:
        return None
    raise FormatError(f"unknown layer kind {kind!r}")
