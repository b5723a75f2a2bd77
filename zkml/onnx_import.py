"""Import a float MLP classifier from ONNX.

The importer walks the graph in its (topological) node order and interprets every
tensor symbolically as one of: a constant, the network's activation after a
prefix of dense layers, a argmax-equivalent transform of the logits ("scores"),
or the predicted label.  It accepts

* Gemm (alpha, beta, transB; transA = 0), MatMul + Add (bias), Relu, Flatten,
  Reshape that keeps the batch dimension, Identity, Dropout, Cast to a float type,
  Constant, and trailing Softmax / LogSoftmax (dropped: they do not change argmax);
* the graphs skl2onnx writes for sklearn's MLPClassifier (Cast, ArgMax,
  ArrayFeatureExtractor with classes 0..n-1, Reshape, Cast, optional ZipMap), including
  the binary form ``Sigmoid -> Sub(1, p) -> Concat([1-p, p])`` which is mapped to the
  two logits ``[0, z]``: argmax with the first-maximum rule gives class 1 iff z > 0,
  which is what onnxruntime predicts (z == 0 -> p = 0.5 = 1-p -> class 0);
* the PyTorch export form (Flatten, Gemm with transB=1, Relu).

Anything else raises UnsupportedModelError naming the operator and node;
unreadable bytes raise FormatError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from .errors import FormatError, UnsupportedModelError, ZkmlError

OnnxSource = Union[bytes, bytearray, str, "os.PathLike[str]", Any]  # Any: onnx.ModelProto

SUPPORTED_OPS = {
    ("", "Gemm"), ("", "MatMul"), ("", "Add"), ("", "Relu"), ("", "Flatten"), ("", "Reshape"),
    ("", "Identity"), ("", "Dropout"), ("", "Softmax"), ("", "LogSoftmax"), ("", "Cast"),
    ("", "Constant"), ("", "ArgMax"), ("", "Sigmoid"), ("", "Sub"), ("", "Concat"),
    ("ai.onnx.ml", "ArrayFeatureExtractor"), ("ai.onnx.ml", "ZipMap"),
}
_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


@dataclass
class FloatLayer:
    """y = x @ weight.T + bias, then ReLU when ``relu``."""

    weight: np.ndarray  # float64 [out, in]
    bias: np.ndarray    # float64 [out]
    relu: bool


@dataclass
class FloatMLP:
    """A float MLP classifier: predicted class = argmax of the last layer's output."""

    layers: list[FloatLayer]
    input_shape: tuple[int, ...]
    n_classes: int

    @property
    def input_dim(self) -> int:
        return int(np.prod(self.input_shape, dtype=np.int64))

    def hidden(self, x: np.ndarray) -> list[np.ndarray]:
        """Output of every layer (after its ReLU, if any), float64."""
        a = np.asarray(x, dtype=np.float64).reshape(len(x), self.input_dim)
        outs = []
        for l in self.layers:
            a = a @ l.weight.T + l.bias
            if l.relu:
                a = np.maximum(a, 0.0)
            outs.append(a)
        return outs

    def forward(self, x: np.ndarray) -> np.ndarray:
        """float [N, ...] -> float64 logits [N, n_classes]."""
        return self.hidden(x)[-1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.forward(x), axis=1)


# --- symbolic values ------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Net:
    """The network's activation: after ``layers``; ``phase`` in {input, linear, relu}."""

    layers: tuple
    features: int | None
    rank: int
    phase: str


@dataclass(frozen=True, eq=False)
class _Head:
    """Something derived from the final logits of ``net``.

    kind: scores (argmax-equivalent to the logits), sigmoid (p of a one-logit net),
    one_minus_sigmoid (1 - p), label (argmax index == class label).
    """

    kind: str
    net: _Net


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


def load_float_mlp(source: OnnxSource) -> FloatMLP:
    """Read an ONNX MLP classifier into a :class:`FloatMLP` (see module docstring)."""
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
                + "; zkml proves MLPs: Gemm/MatMul+Add, Relu, Flatten, Reshape, Softmax")

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
    features = None if any(d is None for d in per_sample) else int(np.prod(per_sample))
    start = _Net(layers=(), features=features, rank=len(dims), phase="input")
    values[inp.name] = start
    input_shape_holder: dict[str, tuple[int, ...]] = {}
    if features is not None:
        input_shape_holder["shape"] = tuple(int(d) for d in per_sample)  # type: ignore[arg-type]

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

    def add_layer(net: _Net, w: np.ndarray, b: np.ndarray, where: str) -> _Net:
        if net.rank != 2:
            raise UnsupportedModelError(
                f"node '{where}' multiplies a rank-{net.rank} tensor; flatten the input first")
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
        layers = net.layers
        if net.phase == "linear":  # previous layer had no ReLU; quantize() fuses it
            layers = layers[:-1] + (FloatLayer(layers[-1].weight, layers[-1].bias, False),)
        layer = FloatLayer(np.asarray(w, np.float64), np.asarray(b, np.float64), False)
        return _Net(layers + (layer,), int(w.shape[0]), 2, "linear")

    def _interpret(i: int, node: Any) -> None:
        where = _node_label(node, i)
        op = node.op_type
        at = _attrs(node)
        ins = list(node.input)
        outs = list(node.output)
        result: Any
        if op == "Constant":
            result = _const_from_node(node, where)
        elif op in ("Identity", "Dropout"):
            result = get(ins[0], where)  # Dropout's mask output stays uninterpreted
            if op == "Dropout" and len(ins) > 2 and ins[2]:
                mode = get(ins[2], where)
                if not isinstance(mode, np.ndarray) or bool(np.asarray(mode).reshape(-1)[0]):
                    raise UnsupportedModelError(
                        f"Dropout in training mode at node '{where}'")
        elif op == "Cast":
            v = get(ins[0], where)
            to = int(at.get("to", 0))
            if isinstance(v, _Net) and to not in _FLOAT_TYPES:
                raise UnsupportedModelError(
                    f"Cast of activations to a non-float type at node '{where}'")
            if isinstance(v, _Head) and v.kind != "label" and to not in _FLOAT_TYPES:
                raise UnsupportedModelError(f"Cast of scores to a non-float type at node '{where}'")
            result = v.astype(_np_dtype(to)) if isinstance(v, np.ndarray) else v
        elif op == "Gemm":
            net = need_net(get(ins[0], where), where, op)
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
            result = add_layer(net, w, b, where)
        elif op == "MatMul":
            net = need_net(get(ins[0], where), where, op)
            bmat = as_const(get(ins[1], where), "MatMul's second input", where)
            if bmat.ndim != 2:
                raise UnsupportedModelError(f"MatMul weight must be a matrix at node '{where}'")
            w = bmat.astype(np.float64).T
            result = add_layer(net, w, np.zeros(w.shape[0]), where)
        elif op == "Add":
            a, b = get(ins[0], where), get(ins[1], where)
            net, c = (a, b) if isinstance(a, _Net) else (b, a)
            if not isinstance(net, _Net) or not isinstance(c, np.ndarray):
                raise UnsupportedModelError(
                    f"Add at node '{where}' must add a constant bias to a layer output")
            if net.phase != "linear":
                raise UnsupportedModelError(
                    f"Add at node '{where}' must follow Gemm/MatMul (bias), not {net.phase}")
            last = net.layers[-1]
            bias = last.bias + _bias_vector(c, last.weight.shape[0], where)
            if not np.all(np.isfinite(bias)):
                raise UnsupportedModelError(f"non-finite bias at node '{where}'")
            result = _Net(net.layers[:-1] + (FloatLayer(last.weight, bias, False),),
                          net.features, 2, "linear")
        elif op == "Relu":
            net = need_net(get(ins[0], where), where, op)
            if net.phase == "input":
                raise UnsupportedModelError(f"Relu on the raw input at node '{where}'")
            if net.phase == "relu":
                result = net
            else:
                last = net.layers[-1]
                result = _Net(net.layers[:-1] + (FloatLayer(last.weight, last.bias, True),),
                              net.features, 2, "relu")
        elif op == "Flatten":
            net = need_net(get(ins[0], where), where, op)
            axis = int(at.get("axis", 1))
            if axis < 0:
                axis += net.rank
            if axis != 1:
                raise UnsupportedModelError(f"Flatten with axis != 1 at node '{where}'")
            result = _Net(net.layers, net.features, 2, net.phase)
        elif op == "Reshape":
            v = get(ins[0], where)
            shape = as_const(get(ins[1], where), "Reshape's shape", where).astype(np.int64)
            if isinstance(v, _Head) and v.kind == "label":
                result = v
            elif isinstance(v, _Net):
                result = _reshape_net(v, [int(s) for s in shape.reshape(-1)],
                                      int(at.get("allowzero", 0)), where)
            elif isinstance(v, np.ndarray):
                result = v.reshape([int(s) for s in shape.reshape(-1)])
            else:
                raise UnsupportedModelError(f"Reshape of scores at node '{where}'")
        elif op in ("Softmax", "LogSoftmax", "Sigmoid"):
            v = get(ins[0], where)
            net = v.net if isinstance(v, _Head) and v.kind == "scores" else v
            net = need_net(net, where, op)
            if net.phase == "input" or net.rank != 2:
                raise UnsupportedModelError(f"{op} must act on the logits at node '{where}'")
            if op != "Sigmoid":
                axis = int(at.get("axis", -1 if _opset(model) >= 13 else 1))
                if axis not in (1, -1):
                    raise UnsupportedModelError(f"{op} with axis {axis} at node '{where}'")
            if op == "Sigmoid" and net.features == 1 and not isinstance(v, _Head):
                result = _Head("sigmoid", net)
            else:
                result = _Head("scores", net)
        elif op == "Sub":
            a, b = get(ins[0], where), get(ins[1], where)
            if not (isinstance(a, np.ndarray) and a.size == 1 and float(a.reshape(-1)[0]) == 1.0
                    and isinstance(b, _Head) and b.kind == "sigmoid"):
                raise UnsupportedModelError(
                    f"Sub at node '{where}' is only supported as 1 - sigmoid(logit)")
            result = _Head("one_minus_sigmoid", b.net)
        elif op == "Concat":
            parts = [get(n, where) for n in ins]
            axis = int(at.get("axis", 1))
            kinds = [p.kind if isinstance(p, _Head) else None for p in parts]
            if (axis not in (1, -1) or sorted(map(str, kinds)) != ["one_minus_sigmoid", "sigmoid"]
                    or parts[0].net is not parts[1].net):
                raise UnsupportedModelError(
                    f"Concat at node '{where}' is only supported as [1 - p, p] of one sigmoid")
            net = parts[0].net
            last = net.layers[-1]
            rows = [(last.weight[0], last.bias[0]) if k == "sigmoid"
                    else (np.zeros_like(last.weight[0]), 0.0) for k in kinds]
            w2 = np.stack([r[0] for r in rows])
            b2 = np.array([r[1] for r in rows], dtype=np.float64)
            two = _Net(net.layers[:-1] + (FloatLayer(w2, b2, False),), 2, 2, "linear")
            result = _Head("scores", two)
        elif op == "ArgMax":
            v = get(ins[0], where)
            net = v.net if isinstance(v, _Head) and v.kind == "scores" else v
            net = need_net(net, where, op)
            axis = int(at.get("axis", 0))
            if net.rank != 2 or axis not in (1, -1) or int(at.get("select_last_index", 0)):
                raise UnsupportedModelError(
                    f"ArgMax at node '{where}' must be over axis 1 with the first-maximum rule")
            result = _Head("label", net)
        elif op == "ArrayFeatureExtractor":
            classes = as_const(get(ins[0], where), "class list", where)
            idx = get(ins[1], where)
            if not isinstance(idx, _Head) or idx.kind != "label":
                raise UnsupportedModelError(
                    f"ArrayFeatureExtractor at node '{where}' must map the argmax to labels")
            if (not np.issubdtype(classes.dtype, np.integer)
                    or not np.array_equal(classes.reshape(-1), np.arange(classes.size))):
                raise UnsupportedModelError(
                    f"class labels must be 0..n-1 (got {classes.reshape(-1)[:10].tolist()}) "
                    f"at node '{where}'; relabel the training data")
            result = idx
        elif op == "ZipMap":
            v = get(ins[0], where)
            if not isinstance(v, _Head) or v.kind != "scores":
                raise UnsupportedModelError(f"ZipMap at node '{where}' must map probabilities")
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


def _finish(g: Any, values: dict, input_shape_holder: dict) -> FloatMLP:
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
    if net.rank != 2:
        raise UnsupportedModelError("the model's output must be [N, n_classes]")
    if net.phase == "relu":
        raise UnsupportedModelError(
            "a ReLU on the logits is not supported (the last layer must be linear)")
    if net.features is None or net.features < 2:
        raise UnsupportedModelError(
            f"the model has {net.features} output(s); a classifier needs at least 2 logits "
            "(a single binary logit is supported only in the skl2onnx Sigmoid form)")
    return FloatMLP(layers=list(net.layers), input_shape=input_shape_holder["shape"],
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


def _reshape_net(net: _Net, shape: list[int], allowzero: int, where: str) -> _Net:
    """Reshape that keeps the batch dimension: [0 or -1, ...] with the features unchanged."""
    if len(shape) < 2 or shape[0] not in (0, -1) or (allowzero and 0 in shape):
        raise UnsupportedModelError(
            f"Reshape to {shape} at node '{where}': only [N, -1] / [-1, d] style reshapes "
            "that keep the batch dimension are supported")
    rest = shape[1:]
    if shape[0] == 0:
        if rest.count(-1) > 1:
            raise UnsupportedModelError(f"Reshape to {shape} at node '{where}'")
        if rest == [-1] or net.features is None and rest.count(-1) == 1:
            return _Net(net.layers, net.features, len(shape), net.phase)
        if 0 in rest:
            raise UnsupportedModelError(f"Reshape to {shape} at node '{where}'")
        known = int(np.prod([d for d in rest if d != -1]))
        if -1 in rest:
            ok = net.features is not None and known > 0 and net.features % known == 0
        else:
            ok = net.features == known
    else:  # batch inferred: the rest must be explicit
        if any(d <= 0 for d in rest) and not (rest == [0] and net.rank == 2):
            raise UnsupportedModelError(f"Reshape to {shape} at node '{where}'")
        known = net.features if rest == [0] else int(np.prod(rest))
        ok = net.features is None and len(rest) == 1 or net.features == known
        if ok and net.features is None:
            return _Net(net.layers, known, len(shape), net.phase)
    if not ok:
        raise UnsupportedModelError(
            f"Reshape to {shape} at node '{where}' does not match {net.features} features")
    return _Net(net.layers, net.features, len(shape), net.phase)
