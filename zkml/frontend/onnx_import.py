"""Import a float classifier (an MLP or a plain CNN) from ONNX.

The importer walks the graph in its (topological) node order and interprets every
tensor symbolically as one of: a constant, the network's activation after a
prefix of layers, an argmax-equivalent transform of the logits ("scores"),
the predicted label, or a shape vector holding the (symbolic) batch size.  It accepts

* Gemm (alpha, beta, transB; transA = 0), MatMul + Add (bias), Relu, Flatten,
  Reshape that keeps the batch dimension, Identity, Dropout, Cast to a float type,
  Constant, and trailing Softmax / LogSoftmax (dropped: they do not change argmax);
* 2-D Conv (any kernel, stride, pads or auto_pad; group 1, dilation 1; bias optional),
  BatchNormalization in inference form right after a Conv or Gemm (folded into its
  weights, so the committed model holds the folded integer weights), MaxPool (floor mode,
  dilation 1, no indices output), and average pooling after a ReLU: AveragePool (floor
  mode; padding only with count_include_pad=1), GlobalAveragePool, and ReduceMean over
  the two spatial axes (how the dynamo exporter writes ``AdaptiveAvgPool2d(1)``).
  MaxPool commutes with ReLU, so ``Conv -> Relu -> MaxPool`` and ``Conv -> MaxPool ->
  Relu`` give the same layers; average pooling does not, so it must follow the Relu;
* residual Add of a Conv/Gemm output (BatchNormalization folded) and an identity skip: the
  ReLU output of an earlier layer with the same shape, followed by a Relu (the ResNet basic
  block); the skip is added before the requantization, as the integer model defines it;
  or, for a Conv output, a projection shortcut: a 1x1 Conv (any stride, no padding; its
  BatchNormalization folded) of such a ReLU output (the downsampling ResNet block);
* the shape arithmetic PyTorch's exporters write around ``view``/``flatten``
  (Shape, Gather, Squeeze, Unsqueeze, Concat, Reshape of a shape vector), and simple
  constant subgraphs (Transpose of a weight, a zero bias from Shape/Expand/CastLike);
* the graphs skl2onnx writes for sklearn's MLPClassifier (Cast, ArgMax,
  ArrayFeatureExtractor with classes 0..n-1, Reshape, Cast, optional ZipMap), including
  the binary form ``Sigmoid -> Sub(1, p) -> Concat([1-p, p])`` which is mapped to the
  two logits ``[0, z]``: argmax with the first-maximum rule gives class 1 iff z > 0,
  which is what onnxruntime predicts (z == 0 -> p = 0.5 = 1-p -> class 0);
* PyTorch exports from both exporters (TorchScript ``dynamo=False`` and ``dynamo=True``),
  with or without constant folding.

Anything else (e.g. a 3x3 or padded projection, or an Add of two other branches) raises
UnsupportedModelError naming the operator and node; unreadable bytes raise FormatError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Union

import numpy as np

from zkml.errors import FormatError, UnsupportedModelError, ZkmlError
from zkml.formats.model import MAX_POOL_KERNEL, POOL_KINDS

OnnxSource = Union[bytes, bytearray, str, "os.PathLike[str]", Any]  # Any: onnx.ModelProto

SUPPORTED_OPS = {
    ("", "Gemm"), ("", "MatMul"), ("", "Add"), ("", "Relu"), ("", "Flatten"), ("", "Reshape"),
    ("", "Identity"), ("", "Dropout"), ("", "Softmax"), ("", "LogSoftmax"), ("", "Cast"),
    ("", "Constant"), ("", "ArgMax"), ("", "Sigmoid"), ("", "Sub"), ("", "Concat"),
    ("", "Conv"), ("", "BatchNormalization"), ("", "MaxPool"), ("", "AveragePool"),
    ("", "GlobalAveragePool"), ("", "ReduceMean"),
    ("", "Shape"), ("", "Gather"), ("", "Squeeze"), ("", "Unsqueeze"), ("", "Transpose"),
    ("", "Expand"), ("", "CastLike"),
    ("ai.onnx.ml", "ArrayFeatureExtractor"), ("ai.onnx.ml", "ZipMap"),
}
_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
MAX_WINDOW = 64                 # the integer model's largest average-pooling window side


# --- the float network -----------------------------------------------------------
@dataclass
class FloatLayer:
    """Dense layer: y = x @ weight.T + bias (x flattened in C order), then ReLU when ``relu``."""

    weight: np.ndarray  # float64 [out, in]
    bias: np.ndarray    # float64 [out]
    relu: bool
    source: str = ""    # "'Gemm' at node 'fc1'", for error messages
    residual: int | None = None  # j: layer j's output (1-based) is added before the ReLU
    kind = "dense"


@dataclass
class FloatConv:
    """2-D convolution (group 1, dilation 1, zero padding), then ReLU when ``relu``."""

    weight: np.ndarray               # float64 [out_channels, in_channels, kh, kw]
    bias: np.ndarray                 # float64 [out_channels]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    relu: bool
    source: str = ""
    residual: int | None = None      # j: layer j's output (1-based) is added before the ReLU
    projection: "FloatConv | None" = None   # ... through this 1x1 convolution (else as it is)
    kind = "conv"


@dataclass
class FloatMaxPool:
    """Max over each window; positions outside the input are skipped (ONNX pads with -inf)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]
    source: str = ""
    kind = "maxpool"
    relu = False


@dataclass
class FloatAvgPool:
    """Mean over each window, positions outside the input counting as zeros (ONNX
    count_include_pad=1); global average pooling is the window of the whole input."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]
    source: str = ""
    kind = "avgpool"
    relu = False


FloatLayerAny = Union[FloatLayer, FloatConv, FloatMaxPool, FloatAvgPool]


def _windows(a: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
             pads: tuple[int, int, int, int], fill: float) -> np.ndarray:
    """[N, C, H, W] -> [N, C, OH, OW, KH, KW] views of the padded input's windows."""
    pt, pl, pb, pr = pads
    padded = np.pad(a, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=(2, 3))
    return win[:, :, ::stride[0], ::stride[1]]


def float_conv(a: np.ndarray, layer: FloatConv) -> np.ndarray:
    """float64 convolution of [N, C, H, W] activations (in chunks to bound memory)."""
    kernel = (int(layer.weight.shape[2]), int(layer.weight.shape[3]))
    out = []
    for i in range(0, len(a), 256):
        win = _windows(a[i:i + 256], kernel, layer.stride, layer.pads, 0.0)
        z = np.tensordot(win, layer.weight, axes=([1, 4, 5], [1, 2, 3]))  # [n, OH, OW, OC]
        out.append(z.transpose(0, 3, 1, 2))
    return np.concatenate(out) + layer.bias[None, :, None, None]


def float_maxpool(a: np.ndarray, layer: FloatMaxPool) -> np.ndarray:
    """Max-pooling of [N, C, H, W] activations with -inf padding (ONNX semantics)."""
    return np.concatenate([_windows(a[i:i + 1024], layer.kernel, layer.stride, layer.pads,
                                    -np.inf).max(axis=(4, 5))
                           for i in range(0, len(a), 1024)])


def float_avgpool(a: np.ndarray, layer: FloatAvgPool) -> np.ndarray:
    """Average pooling of [N, C, H, W] activations, zero padding counted in the divisor."""
    count = layer.kernel[0] * layer.kernel[1]
    return np.concatenate([_windows(a[i:i + 1024], layer.kernel, layer.stride, layer.pads,
                                    0.0).sum(axis=(4, 5)) / count
                           for i in range(0, len(a), 1024)])


@dataclass
class FloatNet:
    """A float classifier: dense, convolution and pooling layers; the predicted class is
    the argmax of the last (dense) layer's output."""

    layers: list[FloatLayerAny]
    input_shape: tuple[int, ...]   # per sample: (features,) or (C, H, W) for a CNN
    n_classes: int

    @property
    def input_dim(self) -> int:
        return int(np.prod(self.input_shape, dtype=np.int64))

    def hidden(self, x: np.ndarray) -> list[np.ndarray]:
        """Output of every layer (after its ReLU, if any), float64 [N, *layer shape]."""
        a = np.asarray(x, dtype=np.float64).reshape(len(x), *self.input_shape)
        outs = []
        for l in self.layers:
            if l.kind == "dense":
                a = a.reshape(len(a), -1) @ l.weight.T + l.bias
            elif l.kind == "conv":
                a = float_conv(a, l)
            elif l.kind == "maxpool":
                a = float_maxpool(a, l)
            else:
                a = float_avgpool(a, l)
            if getattr(l, "residual", None):
                skip = outs[l.residual - 1]
                a = a + (skip.reshape(a.shape) if getattr(l, "projection", None) is None
                         else float_conv(skip, l.projection))
            if l.relu:
                a = np.maximum(a, 0.0)
            outs.append(a)
        return outs

    def forward(self, x: np.ndarray) -> np.ndarray:
        """float [N, ...] -> float64 logits [N, n_classes]."""
        return self.hidden(x)[-1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.forward(x), axis=1)


FloatMLP = FloatNet  # the name before convolutions were supported


# --- symbolic values ------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Net:
    """The network's activation after ``layers``.

    ``shape`` is the per-sample shape (None when unknown), ``rank`` the tensor rank with
    the batch axis; ``phase`` in {input, linear, relu}: whether the last weighted layer
    (possibly followed by pooling) has its ReLU yet.
    """

    layers: tuple
    shape: tuple[int, ...] | None
    rank: int
    phase: str

    @property
    def features(self) -> int | None:
        return None if self.shape is None else int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class _Head:
    """Something derived from the final logits of ``net``.

    kind: scores (argmax-equivalent to the logits), sigmoid (p of a one-logit net),
    one_minus_sigmoid (1 - p), label (argmax index == class label).
    """

    kind: str
    net: _Net


BATCH = "N"  # the symbolic batch size inside a _ShapeVec


@dataclass(frozen=True)
class _ShapeVec:
    """An int64 shape vector (or scalar) computed from the activations' shape: entries are
    ints or BATCH.  Exporters build ``[N, -1]`` this way for ``x.view(x.size(0), -1)``."""

    dims: tuple
    scalar: bool = False


def _node_label(node: Any, index: int) -> str:
    return node.name if node.name else f"#{index} ({node.op_type})"


def load_onnx_model(source: OnnxSource) -> Any:
    """Parse an ONNX model from bytes, a path or a ModelProto; FormatError if unreadable."""
    import onnx
    from google.protobuf.message import DecodeError

    if isinstance(source, onnx.ModelProto):
        model = source
    else:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            try:
                with open(os.fspath(source), "rb") as f:
                    data = f.read()
            except OSError as e:
                raise FormatError(f"cannot read ONNX file {source}: {e}") from None
        elif hasattr(source, "read"):
            data = source.read()
        else:
            raise FormatError(f"expected ONNX bytes, a path or a ModelProto, got {type(source)}")
        try:
            model = onnx.load_model_from_string(data)
        except (DecodeError, ValueError, RuntimeError) as e:
            raise FormatError(f"not an ONNX model (protobuf decode failed: {e})") from None
    if not model.ir_version or not model.graph.node or not model.graph.input:
        raise FormatError("not an ONNX model (no IR version, nodes or inputs)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # onnx.checker.ValidationError and friends
        raise FormatError(f"invalid ONNX model: {str(e).splitlines()[0] if str(e) else e}") \
            from None
    return model


def _const_from_node(node: Any, where: str) -> np.ndarray:
    from onnx import helper, numpy_helper

    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
        if a.name in ("value_float", "value_int"):
            return np.array(helper.get_attribute_value(a))
        if a.name in ("value_floats", "value_ints"):
            return np.array(list(helper.get_attribute_value(a)))
    raise UnsupportedModelError(f"unsupported Constant form at node '{where}'")


def _attrs(node: Any) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _bias_vector(c: np.ndarray, out: int, where: str) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    if c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1) or c.size not in (1, out):
        raise UnsupportedModelError(
            f"bias of shape {list(c.shape)} does not broadcast to [{out}] at node '{where}'")
    return np.broadcast_to(c.reshape(-1), (out,)).astype(np.float64)


def _channel_vector(c: np.ndarray, channels: int, where: str) -> np.ndarray:
    """A constant added per channel to [N, C, H, W]: a scalar, [C, 1, 1] or [1, C, 1, 1]."""
    c = np.asarray(c, dtype=np.float64)
    if c.size == 1:
        return np.full(channels, float(c.reshape(-1)[0]))
    if list(c.shape) in ([channels, 1, 1], [1, channels, 1, 1]):
        return c.reshape(-1)
    raise UnsupportedModelError(
        f"bias of shape {list(c.shape)} is not per-channel for {channels} channels "
        f"at node '{where}'")


def _last_weighted(net: _Net) -> int:
    """Index of the last dense/conv layer (pooling layers may follow it)."""
    for i in range(len(net.layers) - 1, -1, -1):
        if net.layers[i].kind not in POOL_KINDS:
            return i
    raise AssertionError("a network past its input has a weighted layer")


def _with_layer(net: _Net, index: int, layer: FloatLayerAny, phase: str | None = None) -> _Net:
    layers = net.layers[:index] + (layer,) + net.layers[index + 1:]
    return _Net(layers, net.shape, net.rank, phase or net.phase)


def _pair_attr(at: dict, name: str, default: list[int], op: str, where: str) -> tuple[int, int]:
    v = [int(s) for s in at.get(name, default)]
    if len(v) != 2:
        raise UnsupportedModelError(f"'{op}' at node '{where}': {name} {v} is not 2-D")
    return v[0], v[1]


def _spatial_pads(at: dict, in_hw: tuple[int, int], kernel: tuple[int, int],
                  stride: tuple[int, int], op: str, where: str) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) from ``pads`` or ``auto_pad`` (SAME_UPPER/SAME_LOWER/VALID)."""
    auto = at.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto == "NOTSET":
        pads = [int(p) for p in at.get("pads", [0, 0, 0, 0])]
        if len(pads) != 4 or min(pads) < 0:
            raise UnsupportedModelError(f"'{op}' at node '{where}': bad pads {pads}")
        begin, end = pads[:2], pads[2:]
    elif auto == "VALID":
        begin, end = [0, 0], [0, 0]
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for size, k, s in zip(in_hw, kernel, stride):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            small, big = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else big)
            end.append(big if auto == "SAME_UPPER" else small)
    else:
        raise UnsupportedModelError(f"'{op}' at node '{where}': unknown auto_pad {auto!r}")
    pads4 = (begin[0], begin[1], end[0], end[1])
    if any(pads4[a] >= kernel[a % 2] for a in range(4)):
        raise UnsupportedModelError(
            f"'{op}' at node '{where}': padding {list(pads4)} must be smaller than the kernel "
            f"{list(kernel)}")
    return pads4


def _out_hw(in_hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
            pads: tuple[int, int, int, int], op: str, where: str) -> tuple[int, int]:
    out = tuple((size + pads[a] + pads[a + 2] - kernel[a]) // stride[a] + 1
                for a, size in enumerate(in_hw))
    if min(out) < 1:
        raise UnsupportedModelError(
            f"'{op}' at node '{where}': the {kernel[0]}x{kernel[1]} window is larger than its "
            f"padded {in_hw[0]}x{in_hw[1]} input")
    return out  # type: ignore[return-value]


def load_float_net(source: OnnxSource) -> FloatNet:
    """Read an ONNX classifier (MLP or CNN) into a :class:`FloatNet` (see module docstring)."""
    from onnx import numpy_helper

    model = load_onnx_model(source)
    g = model.graph
    values: dict[str, Any] = {}
    try:
        for t in g.initializer:
            values[t.name] = numpy_helper.to_array(t)
    except Exception as e:
        raise FormatError(f"cannot read initializer: {e}") from None

    # Every operator must be supported before we interpret anything.
    for i, node in enumerate(g.node):
        dom = node.domain or ""
        if dom == "ai.onnx":
            dom = ""
        if (dom, node.op_type) not in SUPPORTED_OPS:
            raise UnsupportedModelError(
                f"unsupported operator '{node.op_type}' at node '{_node_label(node, i)}'"
                + (f" (domain '{node.domain}')" if node.domain else "")
                + "; zkml proves MLPs and plain CNNs: Gemm/MatMul+Add, Conv, "
                  "BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, Relu, "
                  "Flatten, Reshape, Softmax")

    real_inputs = [i for i in g.input if i.name not in values]
    if len(real_inputs) != 1:
        raise UnsupportedModelError(
            f"the model must have exactly one data input, found {len(real_inputs)}")
    inp = real_inputs[0]
    tt = inp.type.tensor_type
    if not inp.type.HasField("tensor_type") or tt.elem_type not in _FLOAT_TYPES:
        raise UnsupportedModelError(f"input '{inp.name}' must be a float tensor")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    if len(dims) < 2:
        raise UnsupportedModelError(
            f"input '{inp.name}' must have shape [N, ...] (got rank {len(dims)})")
    per_sample: list[int | None] = dims[1:]
    if any(d is not None and d < 1 for d in per_sample):
        raise UnsupportedModelError(f"input '{inp.name}' has an empty dimension")
    batch = dims[0]  # the static batch size, or None when symbolic
    known = None if any(d is None for d in per_sample) else tuple(int(d) for d in per_sample)
    start = _Net(layers=(), shape=known, rank=len(dims), phase="input")
    values[inp.name] = start
    input_shape_holder: dict[str, tuple[int, ...]] = {}
    if known is not None:
        input_shape_holder["shape"] = known

    def get(name: str, where: str) -> Any:
        if name == "":
            return None
        if name not in values:
            raise UnsupportedModelError(
                f"tensor '{name}' used at node '{where}' is not produced by a supported operator")
        return values[name]

    def as_const(v: Any, what: str, where: str) -> np.ndarray:
        if not isinstance(v, np.ndarray):
            raise UnsupportedModelError(f"{what} must be a constant at node '{where}'")
        return v

    def need_net(v: Any, where: str, op: str) -> _Net:
        if not isinstance(v, _Net):
            raise UnsupportedModelError(
                f"operator '{op}' at node '{where}' must act on the network's activations")
        return v

    def check_hidden_relu(net: _Net, where: str, op: str) -> None:
        """A conv layer (or a layer with a residual branch) without ReLU cannot be followed
        by another layer: only plain dense layers without ReLU are fused into the next dense
        layer by quantize."""
        last = net.layers[_last_weighted(net)] if net.layers else None
        if net.phase == "linear" and (last.kind == "conv" or last.residual is not None):
            what = "convolution" if last.kind == "conv" else "layer"
            raise UnsupportedModelError(
                f"the {what} {last.source} has no Relu before '{op}' at node '{where}'; "
                "every hidden layer must end in ReLU")

    def add_layer(net: _Net, w: np.ndarray, b: np.ndarray, where: str, op: str) -> _Net:
        if net.rank != 2:
            raise UnsupportedModelError(
                f"node '{where}' multiplies a rank-{net.rank} tensor; flatten the input first")
        check_hidden_relu(net, where, op)
        if net.phase == "input" and "shape" not in input_shape_holder:
            if len(per_sample) != 1:
                raise UnsupportedModelError(f"input '{inp.name}' has unknown dimensions")
            input_shape_holder["shape"] = (int(w.shape[1]),)
        if net.features is not None and w.shape[1] != net.features:
            raise UnsupportedModelError(
                f"layer dimensions do not chain at node '{where}': the weight expects "
                f"{w.shape[1]} inputs but the previous layer has {net.features} outputs")
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise UnsupportedModelError(f"non-finite weights at node '{where}'")
        layer = FloatLayer(np.asarray(w, np.float64), np.asarray(b, np.float64), False,
                           f"'{op}' at node '{where}'")
        return _Net(net.layers + (layer,), (int(w.shape[0]),), 2, "linear")

    def spatial_input(net: _Net, op: str, where: str) -> tuple[int, int, int]:
        if net.rank != 4 or net.shape is None or len(net.shape) != 3:
            raise UnsupportedModelError(
                f"'{op}' at node '{where}' needs a [N, C, H, W] input with known C, H, W")
        if any(l.kind == "dense" for l in net.layers):
            raise UnsupportedModelError(
                f"'{op}' at node '{where}' follows a dense layer; zkml supports convolution "
                "and pooling only before the dense layers")
        return net.shape  # type: ignore[return-value]

    def conv(net: _Net, w: np.ndarray, b: np.ndarray | None, at: dict, where: str) -> _Net:
        c, h, wd = spatial_input(net, "Conv", where)
        if int(at.get("group", 1)) != 1:
            raise UnsupportedModelError(
                f"'Conv' at node '{where}' has group={at['group']}; only group=1 is supported")
        if any(int(d) != 1 for d in at.get("dilations", [1, 1])):
            raise UnsupportedModelError(
                f"'Conv' at node '{where}' has dilations {list(at['dilations'])}; only 1 is supported")
        if w.ndim != 4:
            raise UnsupportedModelError(f"'Conv' at node '{where}' is not 2-D (weight rank {w.ndim})")
        if w.shape[1] != c:
            raise UnsupportedModelError(
                f"'Conv' at node '{where}': the weight expects {w.shape[1]} input channels "
                f"but the input has {c}")
        kernel = (int(w.shape[2]), int(w.shape[3]))
        if "kernel_shape" in at and tuple(int(k) for k in at["kernel_shape"]) != kernel:
            raise UnsupportedModelError(
                f"'Conv' at node '{where}': kernel_shape {list(at['kernel_shape'])} does not "
                f"match the weight {list(w.shape)}")
        stride = _pair_attr(at, "strides", [1, 1], "Conv", where)
        if min(stride) < 1:
            raise UnsupportedModelError(f"'Conv' at node '{where}': bad strides {list(stride)}")
        pads = _spatial_pads(at, (h, wd), kernel, stride, "Conv", where)
        oh, ow = _out_hw((h, wd), kernel, stride, pads, "Conv", where)
        bias = np.zeros(w.shape[0]) if b is None else _bias_vector(b, w.shape[0], where)
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(bias))):
            raise UnsupportedModelError(f"non-finite weights at node '{where}'")
        check_hidden_relu(net, where, "Conv")
        if net.phase == "input":
            input_shape_holder["shape"] = (c, h, wd)
        layer = FloatConv(np.asarray(w, np.float64), bias.astype(np.float64), stride, pads,
                          False, f"'Conv' at node '{where}'")
        return _Net(net.layers + (layer,), (int(w.shape[0]), oh, ow), 4, "linear")

    def maxpool(net: _Net, at: dict, n_outputs: int, where: str) -> _Net:
        c, h, wd = spatial_input(net, "MaxPool", where)
        if net.phase == "input":
            raise UnsupportedModelError(
                f"'MaxPool' at node '{where}' acts on the raw input; it must follow a Conv")
        if n_outputs > 1:
            raise UnsupportedModelError(
                f"'MaxPool' at node '{where}' has an indices output; it is not supported")
        if int(at.get("ceil_mode", 0)):
            raise UnsupportedModelError(
                f"'MaxPool' at node '{where}' has ceil_mode=1; only floor mode is supported")
        if any(int(d) != 1 for d in at.get("dilations", [1, 1])):
            raise UnsupportedModelError(
                f"'MaxPool' at node '{where}' has dilations {list(at['dilations'])}; only 1 is "
                "supported")
        kernel = _pair_attr(at, "kernel_shape", [], "MaxPool", where)
        stride = _pair_attr(at, "strides", [1, 1], "MaxPool", where)
        if min(kernel) < 1 or max(kernel) > MAX_POOL_KERNEL or min(stride) < 1 \
                or any(s > k for s, k in zip(stride, kernel)):
            raise UnsupportedModelError(
                f"'MaxPool' at node '{where}' has kernel {list(kernel)} and strides "
                f"{list(stride)}; supported: kernels up to {MAX_POOL_KERNEL} with "
                "1 <= stride <= kernel")
        pads = _spatial_pads(at, (h, wd), kernel, stride, "MaxPool", where)
        oh, ow = _out_hw((h, wd), kernel, stride, pads, "MaxPool", where)
        layer = FloatMaxPool(kernel, stride, pads, f"'MaxPool' at node '{where}'")
        return _Net(net.layers + (layer,), (c, oh, ow), 4, net.phase)

    def avgpool(net: _Net, op: str, at: dict, where: str) -> _Net:
        """AveragePool, or global average pooling (GlobalAveragePool, ReduceMean over H, W)."""
        c, h, wd = spatial_input(net, op, where)
        if net.phase != "relu":
            before = "the raw input" if net.phase == "input" else \
                f"{net.layers[_last_weighted(net)].source} without a Relu"
            raise UnsupportedModelError(
                f"'{op}' at node '{where}' follows {before}; average pooling must come after "
                "the Relu (it does not commute with it)")
        if op == "AveragePool":
            if int(at.get("ceil_mode", 0)):
                raise UnsupportedModelError(
                    f"'AveragePool' at node '{where}' has ceil_mode=1; only floor mode is "
                    "supported")
            if any(int(d) != 1 for d in at.get("dilations", [1, 1])):
                raise UnsupportedModelError(
                    f"'AveragePool' at node '{where}' has dilations {list(at['dilations'])}; "
                    "only 1 is supported")
            kernel = _pair_attr(at, "kernel_shape", [], op, where)
            stride = _pair_attr(at, "strides", [1, 1], op, where)
            if min(kernel) < 1 or min(stride) < 1:
                raise UnsupportedModelError(
                    f"'AveragePool' at node '{where}': bad kernel {list(kernel)} or strides "
                    f"{list(stride)}")
            pads = _spatial_pads(at, (h, wd), kernel, stride, op, where)
            if any(pads) and not int(at.get("count_include_pad", 0)):
                raise UnsupportedModelError(
                    f"'AveragePool' at node '{where}' pads without counting the padding "
                    "(count_include_pad=0); zkml divides every window by its full size: "
                    "export with count_include_pad=True or without padding")
        else:
            kernel, stride, pads = (h, wd), (1, 1), (0, 0, 0, 0)
        if max(kernel) > MAX_WINDOW or max(stride) > MAX_WINDOW:
            raise UnsupportedModelError(
                f"'{op}' at node '{where}' has a {kernel[0]}x{kernel[1]} window or strides "
                f"{list(stride)}; supported: up to {MAX_WINDOW}")
        oh, ow = _out_hw((h, wd), kernel, stride, pads, op, where)
        layer = FloatAvgPool(kernel, stride, pads, f"'{op}' at node '{where}'")
        return _Net(net.layers + (layer,), (c, oh, ow), 4, "relu")

    def bias_add(a: Any, b: Any, where: str) -> _Net:
        """Add(layer output, constant): folded into the layer's bias."""
        net, c = (a, b) if isinstance(a, _Net) else (b, a)
        if not isinstance(net, _Net) or not isinstance(c, np.ndarray):
            raise UnsupportedModelError(
                f"'Add' at node '{where}' must add a constant bias to a layer output")
        if net.phase != "linear" or net.layers[-1].kind in POOL_KINDS:
            raise UnsupportedModelError(
                f"'Add' at node '{where}' must follow Gemm/MatMul/Conv (bias), not "
                f"{net.phase if net.phase != 'linear' else 'pooling'}")
        last = net.layers[-1]
        if last.kind == "conv" and net.rank != 4:
            raise UnsupportedModelError(
                f"'Add' at node '{where}' must add a per-channel bias right after the Conv")
        if last.kind == "conv":
            extra = _channel_vector(c, last.weight.shape[0], where)
        else:
            extra = _bias_vector(c, last.weight.shape[0], where)
        bias = last.bias + extra
        if not np.all(np.isfinite(bias)):
            raise UnsupportedModelError(f"non-finite bias at node '{where}'")
        return _with_layer(net, len(net.layers) - 1, replace(last, bias=bias))

    def projection_add(a: _Net, b: _Net, where: str) -> _Net | None:
        """Add(conv output, projection): the projection is a Conv (BatchNormalization folded)
        of an earlier ReLU output of the main branch's network. None when neither operand
        is such a branch; refused naming the Conv when its geometry is not supported."""
        refusal = None
        for main, proj in ((a, b), (b, a)):
            prefix = proj.layers[:-1]
            last = main.layers[-1] if main.layers else None
            if not (main.phase == "linear" and proj.phase == "linear" and prefix and last is not None
                    and last.kind in ("conv", "dense") and last.residual is None
                    and proj.layers[-1].kind == "conv" and len(prefix) < len(main.layers)
                    and all(x is y for x, y in zip(prefix, main.layers))
                    and proj.layers[-1] is not main.layers[len(prefix)]
                    and prefix[_last_weighted(_Net(prefix, None, 4, "relu"))].relu):
                continue
            conv_p = proj.layers[-1]
            if last.kind != "conv":
                refusal = refusal or f"a projection shortcut needs a Conv main branch, not {last.source}"
            elif conv_p.weight.shape[2:] != (1, 1) or any(conv_p.pads):
                refusal = refusal or (
                    f"the projection shortcut {conv_p.source} has a {conv_p.weight.shape[2]}x"
                    f"{conv_p.weight.shape[3]} kernel with pads {list(conv_p.pads)}; zkml supports 1x1 "
                    "projections without padding (any stride)")
            elif proj.shape != main.shape:
                refusal = refusal or (
                    f"the projection shortcut {conv_p.source} gives {list(proj.shape or [])}, the "
                    f"main branch {list(main.shape or [])}; residual branches need equal shapes")
            else:
                return _with_layer(main, len(main.layers) - 1,
                                   replace(last, residual=len(prefix), projection=conv_p))
        if refusal:
            raise UnsupportedModelError(f"'Add' at node '{where}': {refusal}")
        return None

    def residual_add(a: _Net, b: _Net, where: str) -> _Net:
        """Add(layer output, skip): the skip is the activation after an earlier layer of the
        same network (so its layers are a prefix of the other operand's) with its ReLU, or a
        projection of it (projection_add)."""
        projected = projection_add(a, b, where)
        if projected is not None:
            return projected
        for main, skip in ((a, b), (b, a)):
            last = main.layers[-1] if main.layers else None
            if (main.phase == "linear" and last is not None and last.kind in ("conv", "dense")
                    and last.residual is None and skip.phase == "relu"
                    and len(skip.layers) < len(main.layers)
                    and all(x is y for x, y in zip(skip.layers, main.layers))):
                if skip.shape != main.shape or skip.rank != main.rank:
                    raise UnsupportedModelError(
                        f"'Add' at node '{where}' adds a skip of shape {list(skip.shape or [])} "
                        f"to {list(main.shape or [])}; residual branches need equal shapes")
                return _with_layer(main, len(main.layers) - 1,
                                   replace(last, residual=len(skip.layers)))
        raise UnsupportedModelError(
            f"'Add' at node '{where}' adds two activations in a form zkml does not support: "
            "a residual Add must add the ReLU output of an earlier layer (identity skip), or a 1x1 "
            "Conv of it (projection shortcut), to a Conv/Gemm output, before that layer's Relu")

    def batch_norm(net: _Net, node: Any, at: dict, where: str) -> _Net:
        if int(at.get("training_mode", 0)) or len([o for o in node.output if o]) > 1:
            raise UnsupportedModelError(
                f"'BatchNormalization' at node '{where}' is in training mode; export the "
                "model in eval mode")
        if net.phase != "linear" or net.layers[-1].kind in POOL_KINDS \
                or net.layers[-1].residual is not None \
                or net.rank != (4 if net.layers[-1].kind == "conv" else 2):
            after = "the input" if net.phase == "input" else \
                f"{net.layers[-1].source}" + (" and its Relu" if net.phase == "relu" else "")
            raise UnsupportedModelError(
                f"'BatchNormalization' at node '{where}' follows {after}; it is supported only "
                "directly after a Conv or Gemm (folded into its weights)")
        scale, bias, mean, var = (
            as_const(get(n, where), "BatchNormalization's parameters", where).astype(np.float64)
            .reshape(-1) for n in list(node.input)[1:5])
        last = net.layers[-1]
        channels = last.weight.shape[0]
        if any(v.size != channels for v in (scale, bias, mean, var)):
            raise UnsupportedModelError(
                f"'BatchNormalization' at node '{where}' has parameters that do not match the "
                f"{channels} channels of {last.source}")
        with np.errstate(invalid="ignore", divide="ignore"):  # refused just below
            gain = scale / np.sqrt(var + float(at.get("epsilon", 1e-5)))
        if not np.all(np.isfinite(gain)):
            raise UnsupportedModelError(
                f"'BatchNormalization' at node '{where}' has a non-finite scale "
                "(negative variance?)")
        weight = last.weight * gain.reshape((-1,) + (1,) * (last.weight.ndim - 1))
        folded = replace(last, weight=weight, bias=(last.bias - mean) * gain + bias)
        return _with_layer(net, len(net.layers) - 1, folded)

    def shape_of(v: Any, at: dict, where: str) -> Any:
        if isinstance(v, np.ndarray):
            full = list(v.shape)
        elif isinstance(v, _Net):
            if v.shape is None or len(v.shape) + 1 != v.rank:
                raise UnsupportedModelError(f"'Shape' at node '{where}' of an unknown shape")
            full = [BATCH, *v.shape]
        else:
            raise UnsupportedModelError(f"'Shape' at node '{where}' must act on a tensor")
        lo, hi = int(at.get("start", 0)), at.get("end")
        dims = full[lo:] if hi is None else full[lo:int(hi)]
        if isinstance(v, np.ndarray) or BATCH not in dims:
            return np.array(dims, dtype=np.int64)
        return _ShapeVec(tuple(dims))

    def shape_vec_op(op: str, parts: list[Any], at: dict, where: str) -> Any:
        """Squeeze/Unsqueeze/Reshape/Gather/Concat/Cast on shape vectors holding BATCH."""
        v = parts[0]
        if op == "Concat":
            dims: list[Any] = []
            for p in parts:
                if isinstance(p, _ShapeVec) and not p.scalar:
                    dims.extend(p.dims)
                elif isinstance(p, np.ndarray) and p.ndim == 1:
                    dims.extend(int(d) for d in p)
                else:
                    raise UnsupportedModelError(f"Concat of shapes at node '{where}'")
            return _ShapeVec(tuple(dims))
        if op == "Gather":
            idx = as_const(parts[1], "Gather's indices", where)
            if idx.ndim != 0 or int(at.get("axis", 0)) != 0 or v.scalar:
                raise UnsupportedModelError(f"Gather of a shape at node '{where}'")
            d = v.dims[int(idx)]
            return _ShapeVec((d,), True) if d == BATCH else np.array(d, dtype=np.int64)
        if op == "Squeeze" and not v.scalar and len(v.dims) == 1:
            return _ShapeVec(v.dims, True)
        if op == "Unsqueeze" and v.scalar:
            return _ShapeVec(v.dims)
        if op == "Reshape" and len(v.dims) == 1:
            return _ShapeVec(v.dims)
        if op == "Cast":
            return v
        raise UnsupportedModelError(f"'{op}' of a shape vector at node '{where}'")

    def axes_of(node: Any, at: dict, where: str) -> list[int] | None:
        if len(node.input) > 1 and node.input[1]:
            return [int(a) for a in as_const(get(node.input[1], where), "axes", where).reshape(-1)]
        return [int(a) for a in at["axes"]] if "axes" in at else None

    def _interpret(i: int, node: Any) -> None:
        where = _node_label(node, i)
        op = node.op_type
        at = _attrs(node)
        ins = list(node.input)
        outs = list(node.output)
        result: Any
        first = get(ins[0], where) if ins else None
        if isinstance(first, _ShapeVec) and op in ("Squeeze", "Unsqueeze", "Reshape", "Gather",
                                                   "Cast", "Concat"):
            result = shape_vec_op(op, [get(n, where) for n in ins], at, where)
        elif op == "Concat" and any(isinstance(get(n, where), _ShapeVec) for n in ins):
            result = shape_vec_op(op, [get(n, where) for n in ins], at, where)
        elif op == "Shape":
            result = shape_of(first, at, where)
        elif op == "CastLike":  # e.g. a zero bias built as CastLike(0, activations)
            c = as_const(first, "CastLike's input", where)
            like = get(ins[1], where)
            if isinstance(like, np.ndarray):
                result = c.astype(like.dtype)
            elif isinstance(like, _Net):
                result = c.astype(np.float64)
            else:
                raise UnsupportedModelError(f"'CastLike' at node '{where}' casts like scores")
        elif op in ("Gather", "Squeeze", "Unsqueeze", "Transpose", "Expand"):
            c = as_const(first, f"{op}'s input", where)
            if op == "Expand":  # bidirectional broadcast, as ONNX defines it
                shape = as_const(get(ins[1], where), "Expand's shape", where).astype(np.int64)
                result = c * np.ones([int(d) for d in shape.reshape(-1)], dtype=c.dtype)
            elif op == "Gather":
                result = np.take(c, as_const(get(ins[1], where), "indices", where),
                                 axis=int(at.get("axis", 0)))
            elif op == "Transpose":
                result = np.transpose(c, at.get("perm"))
            elif op == "Squeeze":
                axes = axes_of(node, at, where)
                result = np.squeeze(c, axis=None if axes is None else tuple(axes))
            else:
                axes = axes_of(node, at, where) or []
                result = c
                for a in sorted(a % (c.ndim + len(axes)) for a in axes):
                    result = np.expand_dims(result, a)
        elif op == "Constant":
            result = _const_from_node(node, where)
        elif op in ("Identity", "Dropout"):
            result = first  # Dropout's mask output stays uninterpreted
            if op == "Dropout" and len(ins) > 2 and ins[2]:
                mode = get(ins[2], where)
                if not isinstance(mode, np.ndarray) or bool(np.asarray(mode).reshape(-1)[0]):
                    raise UnsupportedModelError(
                        f"Dropout in training mode at node '{where}'")
        elif op == "Cast":
            v = first
            to = int(at.get("to", 0))
            if isinstance(v, _Net) and to not in _FLOAT_TYPES:
                raise UnsupportedModelError(
                    f"Cast of activations to a non-float type at node '{where}'")
            if isinstance(v, _Head) and v.kind != "label" and to not in _FLOAT_TYPES:
                raise UnsupportedModelError(f"Cast of scores to a non-float type at node '{where}'")
            result = v.astype(_np_dtype(to)) if isinstance(v, np.ndarray) else v
        elif op == "Gemm":
            net = need_net(first, where, op)
            bmat = as_const(get(ins[1], where), "Gemm's B", where).astype(np.float64)
            if int(at.get("transA", 0)):
                raise UnsupportedModelError(f"Gemm with transA=1 at node '{where}'")
            if bmat.ndim != 2:
                raise UnsupportedModelError(f"Gemm's B must be a matrix at node '{where}'")
            if int(at.get("transB", 0)):
                bmat = bmat.T
            alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
            w = alpha * bmat.T  # [out, in]
            c = get(ins[2], where) if len(ins) > 2 else None
            b = np.zeros(w.shape[0]) if c is None else \
                beta * _bias_vector(as_const(c, "Gemm's C", where), w.shape[0], where)
            result = add_layer(net, w, b, where, op)
        elif op == "MatMul":
            net = need_net(first, where, op)
            bmat = as_const(get(ins[1], where), "MatMul's second input", where)
            if bmat.ndim != 2:
                raise UnsupportedModelError(f"MatMul weight must be a matrix at node '{where}'")
            w = bmat.astype(np.float64).T
            result = add_layer(net, w, np.zeros(w.shape[0]), where, op)
        elif op == "Conv":
            net = need_net(first, where, op)
            w = as_const(get(ins[1], where), "Conv's weight", where).astype(np.float64)
            b = get(ins[2], where) if len(ins) > 2 and ins[2] else None
            result = conv(net, w, None if b is None else as_const(b, "Conv's bias", where),
                          at, where)
        elif op == "MaxPool":
            result = maxpool(need_net(first, where, op), at, len([o for o in outs if o]), where)
        elif op in ("AveragePool", "GlobalAveragePool"):
            result = avgpool(need_net(first, where, op), op, at, where)
        elif op == "ReduceMean":
            net = need_net(first, where, op)
            axes = axes_of(node, at, where)
            if net.rank != 4 or axes is None or sorted(a % 4 for a in axes) != [2, 3]:
                raise UnsupportedModelError(
                    f"'ReduceMean' at node '{where}' is supported only over the two spatial "
                    "axes of [N, C, H, W] activations (global average pooling)")
            pooled = avgpool(net, op, at, where)
            keep = int(at.get("keepdims", 1))
            result = pooled if keep else _Net(pooled.layers, pooled.shape[:1], 2, pooled.phase)
        elif op == "BatchNormalization":
            result = batch_norm(need_net(first, where, op), node, at, where)
        elif op == "Add":
            a, b = first, get(ins[1], where)
            if isinstance(a, _Net) and isinstance(b, _Net):
                result = residual_add(a, b, where)
            else:
                result = bias_add(a, b, where)
        elif op == "Relu":
            net = need_net(first, where, op)
            if net.phase == "input":
                raise UnsupportedModelError(f"Relu on the raw input at node '{where}'")
            if net.phase == "relu":
                result = net
            else:  # ReLU commutes with max-pooling: it belongs to the last weighted layer
                k = _last_weighted(net)
                result = _with_layer(net, k, replace(net.layers[k], relu=True), "relu")
        elif op == "Flatten":
            net = need_net(first, where, op)
            axis = int(at.get("axis", 1))
            if axis < 0:
                axis += net.rank
            if axis != 1:
                raise UnsupportedModelError(f"Flatten with axis != 1 at node '{where}'")
            shape = None if net.features is None else (net.features,)
            result = _Net(net.layers, shape, 2, net.phase)
        elif op == "Reshape":
            v = first
            target = get(ins[1], where)
            if isinstance(target, _ShapeVec):
                if target.scalar:
                    raise UnsupportedModelError(f"Reshape to a scalar at node '{where}'")
                shape = list(target.dims)
            else:
                shape = [int(s) for s in as_const(target, "Reshape's shape", where)
                         .astype(np.int64).reshape(-1)]
            if isinstance(v, _Head) and v.kind == "label":
                result = v
            elif isinstance(v, _Net):
                result = _reshape_net(v, shape, int(at.get("allowzero", 0)), batch, where)
            elif isinstance(v, np.ndarray) and BATCH not in shape:
                result = v.reshape(shape)
            else:
                raise UnsupportedModelError(f"Reshape of scores at node '{where}'")
        elif op in ("Softmax", "LogSoftmax", "Sigmoid"):
            v = first
            net = v.net if isinstance(v, _Head) and v.kind == "scores" else v
            net = need_net(net, where, op)
            if net.phase == "input" or net.rank != 2:
                raise UnsupportedModelError(f"'{op}' must act on the logits at node '{where}'")
            if op != "Sigmoid":
                axis = int(at.get("axis", -1 if _opset(model) >= 13 else 1))
                if axis not in (1, -1):
                    raise UnsupportedModelError(f"'{op}' with axis {axis} at node '{where}'")
            if op == "Sigmoid" and net.features == 1 and not isinstance(v, _Head):
                result = _Head("sigmoid", net)
            else:
                result = _Head("scores", net)
        elif op == "Sub":
            a, b = first, get(ins[1], where)
            if not (isinstance(a, np.ndarray) and a.size == 1 and float(a.reshape(-1)[0]) == 1.0
                    and isinstance(b, _Head) and b.kind == "sigmoid"):
                raise UnsupportedModelError(
                    f"'Sub' at node '{where}' is only supported as 1 - sigmoid(logit)")
            result = _Head("one_minus_sigmoid", b.net)
        elif op == "Concat":
            parts = [get(n, where) for n in ins]
            axis = int(at.get("axis", 1))
            if all(isinstance(p, np.ndarray) for p in parts):
                result = np.concatenate(parts, axis=axis)
            else:
                kinds = [p.kind if isinstance(p, _Head) else None for p in parts]
                if (axis not in (1, -1)
                        or sorted(map(str, kinds)) != ["one_minus_sigmoid", "sigmoid"]
                        or parts[0].net is not parts[1].net):
                    raise UnsupportedModelError(
                        f"'Concat' at node '{where}' is only supported as [1 - p, p] of one sigmoid")
                net = parts[0].net
                last = net.layers[-1]
                rows = [(last.weight[0], last.bias[0]) if k == "sigmoid"
                        else (np.zeros_like(last.weight[0]), 0.0) for k in kinds]
                w2 = np.stack([r[0] for r in rows])
                b2 = np.array([r[1] for r in rows], dtype=np.float64)
                two = _Net(net.layers[:-1] + (replace(last, weight=w2, bias=b2),), (2,), 2,
                           "linear")
                result = _Head("scores", two)
        elif op == "ArgMax":
            v = first
            net = v.net if isinstance(v, _Head) and v.kind == "scores" else v
            net = need_net(net, where, op)
            axis = int(at.get("axis", 0))
            if net.rank != 2 or axis not in (1, -1) or int(at.get("select_last_index", 0)):
                raise UnsupportedModelError(
                    f"'ArgMax' at node '{where}' must be over axis 1 with the first-maximum rule")
            result = _Head("label", net)
        elif op == "ArrayFeatureExtractor":
            classes = as_const(first, "class list", where)
            idx = get(ins[1], where)
            if not isinstance(idx, _Head) or idx.kind != "label":
                raise UnsupportedModelError(
                    f"'ArrayFeatureExtractor' at node '{where}' must map the argmax to labels")
            if (not np.issubdtype(classes.dtype, np.integer)
                    or not np.array_equal(classes.reshape(-1), np.arange(classes.size))):
                raise UnsupportedModelError(
                    f"class labels must be 0..n-1 (got {classes.reshape(-1)[:10].tolist()}) "
                    f"at node '{where}'; relabel the training data")
            result = idx
        elif op == "ZipMap":
            v = first
            if not isinstance(v, _Head) or v.kind != "scores":
                raise UnsupportedModelError(f"'ZipMap' at node '{where}' must map probabilities")
            result = v
        else:  # pragma: no cover - guarded by SUPPORTED_OPS
            raise UnsupportedModelError(f"unsupported operator '{op}' at node '{where}'")
        if outs and outs[0]:
            values[outs[0]] = result

    for i, node in enumerate(g.node):
        try:
            _interpret(i, node)
        except ZkmlError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, ArithmeticError) as e:
            raise UnsupportedModelError(
                f"cannot interpret operator '{node.op_type}' at node "
                f"'{_node_label(node, i)}': {e}") from None
    return _finish(g, values, input_shape_holder)


load_float_mlp = load_float_net  # the name before convolutions were supported


def _finish(g: Any, values: dict, input_shape_holder: dict) -> FloatNet:
    # All graph outputs derived from the network must agree on one final network.
    finals: list[_Net] = []
    for o in g.output:
        v = values.get(o.name)
        if isinstance(v, _Head):
            finals.append(v.net)
        elif isinstance(v, _Net):
            finals.append(v)
    if not finals:
        raise UnsupportedModelError("no graph output is computed from the input")
    net = finals[0]
    if any(f is not net for f in finals[1:]):
        raise UnsupportedModelError("graph outputs come from different branches of the network")
    if net.phase == "input" or not net.layers:
        raise UnsupportedModelError("the model has no dense layer")
    if net.layers[-1].kind != "dense":
        raise UnsupportedModelError(
            f"the network's output comes from {net.layers[-1].source}; the last layer must be "
            "dense (Gemm or MatMul) with [N, n_classes] logits")
    if net.layers[-1].residual is not None:
        raise UnsupportedModelError(
            f"the last layer {net.layers[-1].source} has a residual branch; only hidden "
            "layers (followed by a Relu) can")
    if net.rank != 2:
        raise UnsupportedModelError("the model's output must be [N, n_classes]")
    if net.phase == "relu":
        raise UnsupportedModelError(
            "a ReLU on the logits is not supported (the last layer must be linear)")
    if net.features is None or net.features < 2:
        raise UnsupportedModelError(
            f"the model has {net.features} output(s); a classifier needs at least 2 logits "
            "(a single binary logit is supported only in the skl2onnx Sigmoid form)")
    return FloatNet(layers=list(net.layers), input_shape=input_shape_holder["shape"],
                    n_classes=int(net.features))


def _opset(model: Any) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return 1


def _np_dtype(to: int) -> Any:
    from onnx import helper

    try:
        return helper.tensor_dtype_to_np_dtype(to)
    except Exception:
        raise UnsupportedModelError(f"Cast to unknown type {to}") from None


def _reshape_net(net: _Net, shape: list, allowzero: int, batch: int | None, where: str) -> _Net:
    """Reshape that keeps the batch dimension.

    The first entry must denote the batch: 0 (copy), -1 (inferred), BATCH (a shape vector
    computed from the input) or the input's static batch size.  The other entries may use
    one -1 and (without allowzero) 0 to copy a dimension; their product must equal the
    number of features per sample.
    """
    def refuse(why: str = "") -> UnsupportedModelError:
        return UnsupportedModelError(
            f"Reshape to {[str(s) for s in shape]} at node '{where}'{why}: only reshapes that "
            "keep the batch dimension ([N, -1], [-1, d], ...) are supported")

    if len(shape) < 2:
        raise refuse()
    first, rest = shape[0], list(shape[1:])
    if BATCH in rest:
        raise refuse()
    if first == 0 and allowzero:
        raise refuse(" (allowzero with an empty batch)")
    if not (first in (0, -1, BATCH) or (batch is not None and first == batch)):
        raise refuse()
    if 0 in rest:
        if allowzero:
            raise refuse(" (empty dimension)")
        if net.shape is None:
            if rest == [0] and net.rank == 2:
                return _Net(net.layers, None, 2, net.phase)
            raise refuse()
        if any(d == 0 and j >= len(net.shape) for j, d in enumerate(rest)):
            raise refuse()
        rest = [net.shape[j] if d == 0 else d for j, d in enumerate(rest)]
    if rest.count(-1) > 1 or (first == -1 and -1 in rest) or any(d < -1 for d in rest):
        raise refuse()
    if net.features is None:
        if -1 in rest:
            if len(rest) == 1:
                return _Net(net.layers, None, len(shape), net.phase)
            raise refuse(" (unknown input size)")
        return _Net(net.layers, tuple(int(d) for d in rest), len(shape), net.phase)
    known = int(np.prod([d for d in rest if d != -1]))
    if -1 in rest:
        if known <= 0 or net.features % known:
            raise refuse(f" (does not divide {net.features} features)")
        rest[rest.index(-1)] = net.features // known
    elif known != net.features:
        raise UnsupportedModelError(
            f"Reshape to {[str(s) for s in shape]} at node '{where}' does not match "
            f"{net.features} features")
    return _Net(net.layers, tuple(int(d) for d in rest), len(shape), net.phase)
