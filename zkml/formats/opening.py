"""Committing a model and its private opening: the model owner's side of COMMIT.json
(commitment.py holds the public format the verifier reads). The weight and bias tensors are
zero-padded to their layouts and committed row by row; the row blinds, the opening, are
stored in the model file, so committing twice gives unrelated commitments.
"""
from __future__ import annotations

import numpy as np

from zkml.commitments.pedersen import layout
from zkml.commitments.pedersen_prover import commit_tensor
from zkml.errors import FormatError
from zkml.formats.commitment import Commitment
from zkml.formats.jsonutil import parse_json
from zkml.formats.model import (AvgPoolLayer, ConvLayer, DenseLayer, MaxPoolLayer, Projection, QuantizedModel, Requant,
                                _multiplier_value, _residual_value, canonical_json)
from zkml.layers.spec import layer_specs, log2_pow2

# The commitment scheme (Pedersen, Hyrax layout, generators of pedersen.py) under which
# openings are written. It has not changed since the first proof protocol, whose name it
# keeps, so models committed then still prove under later proof protocols.
COMMITMENT_SCHEME = "proofboard-zkml-mlp-proof-v1"


def padded_model_tensors(model: QuantizedModel) -> dict[str, np.ndarray]:
    """W_i and b_i of every dense or conv layer in their padded layouts (layers/spec.py),
    flattened: a dense layer's columns follow its input's grid layout (every dimension
    padded), a conv's weight is [OC, IC, KH, KW] with every dimension padded."""
    out = {}
    for spec, layer in zip(layer_specs(model.architecture()), model.layers):
        if not spec.weighted:
            continue
        pairs = [(spec, layer)] + ([] if spec.proj is None else [(spec.proj, layer.requant.projection)])
        for s, t in pairs:
            if s.kind == "dense":
                w = s.inp.grid.pad(t.weight)               # [out, padded input]
                rows = np.zeros((1 << s.out.n_vars, w.shape[1]), dtype=np.int64)
                rows[:len(w)] = w
                out[s.w_name] = rows.ravel()
            else:
                out[s.w_name] = s.weight_layout().pad(t.weight[None]).ravel()
            out[s.b_name] = s.bias_layout().pad(t.bias[None]).ravel()
    return out


def zero_model_of(arch: dict) -> QuantizedModel:
    """The architecture's model with every weight and bias 0 (for the simulator)."""
    layers = []
    for spec in layer_specs(arch):
        d = spec.desc
        rq = Requant(_multiplier_value(d["requant"]["multiplier"]), d["requant"]["shift"],
                     _residual_value(d["requant"].get("residual"))) if d.get("requant") else None
        if spec.proj is not None:
            p = spec.proj
            shape = (p.out.real[0], p.inp.real[0]) + p.kernel
            rq.projection = Projection(p.source, np.zeros(shape, dtype=np.int64), np.zeros(shape[0], dtype=np.int64),
                                       p.stride, tuple(p.desc["requant"]["multiplier"]))
        if spec.is_pool:
            pool = MaxPoolLayer if spec.kind == "maxpool" else AvgPoolLayer
            layers.append(pool(spec.kernel, spec.stride, spec.pads))
        elif spec.kind == "conv":
            shape = (spec.out.real[0], spec.inp.real[0]) + spec.kernel
            layers.append(ConvLayer(np.zeros(shape, dtype=np.int64), np.zeros(shape[0], dtype=np.int64),
                                    spec.stride, spec.pads, rq))
        else:
            layers.append(DenseLayer(np.zeros((d["out"], d["in"]), dtype=np.int64),
                                     np.zeros(d["out"], dtype=np.int64), rq))
    return QuantizedModel(tuple(arch["input_shape"]), float(arch["input_scale"]), int(arch["n_classes"]),
                          layers, [1.0] * len(layers))


def commit(model: QuantizedModel, rng=None) -> Commitment:
    """Commit to the model's weights; stores the opening in model.opening (save the model)."""
    tensors, opening = {}, {}
    for name, values in padded_model_tensors(model).items():
        n_vars = log2_pow2(len(values))
        tensors[name], blinds = commit_tensor(values, n_vars, rng)
        opening[name] = [format(b, "064x") for b in blinds]
    model.opening = canonical_json({"commitment": Commitment(model.architecture(), tensors).tensor_bytes().hex(),
                                    "blinds": opening, "protocol": COMMITMENT_SCHEME})
    return Commitment(model.architecture(), tensors)


def load_opening(model: QuantizedModel) -> tuple[dict[str, list[int]], bytes]:
    """(row blinds per tensor, the committed tensor bytes) from model.opening, checked
    against the model's tensors and this version of the protocol."""
    if not model.opening:
        raise FormatError("the model file has no opening: run `python -m zkml commit` on it first")
    try:
        doc = parse_json(model.opening, "the model's opening")
        blinds = {n: [int(b, 16) for b in v] for n, v in doc["blinds"].items()}
        committed = bytes.fromhex(doc["commitment"])
        protocol = doc.get("protocol")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FormatError(f"the model file's opening is corrupt: {exc}") from None
    tensors = padded_model_tensors(model)
    if protocol != COMMITMENT_SCHEME or set(blinds) != set(tensors) or any(
            len(blinds[n]) != 1 << layout(log2_pow2(len(v)))[0] for n, v in tensors.items()):
        raise FormatError("the model was committed by another version of zkml: run "
                          "`python -m zkml commit` again and upload the new commitment")
    return blinds, committed
