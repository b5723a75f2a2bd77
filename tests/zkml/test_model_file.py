"""The .zkm model file: canonical round trip, and clear errors on damaged files."""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import pytest

from zkml.errors import FormatError, UnsupportedModelError
from zkml.formats.model import MAGIC, DenseLayer, QuantizedModel, architecture_digest, canonical_json


def _reseal(body: bytes) -> bytes:
    """Append a fresh checksum, so a test can reach the checks behind it."""
    return body + hashlib.sha256(body).digest()


def _split(data: bytes):
    hlen = struct.unpack(">HI", data[8:14])[1]
    return data[:14], data[14:14 + hlen], data[14 + hlen:-32]


def test_round_trip_is_exact(tmp_path, digits, digits_qmodel):
    path = tmp_path / "m.zkm"
    digits_qmodel.save(path)
    loaded = QuantizedModel.load(path)
    assert loaded == digits_qmodel
    assert loaded.to_bytes() == path.read_bytes()
    for a, b in zip(loaded.layers, digits_qmodel.layers):
        assert a.weight.dtype == np.int64 and np.array_equal(a.weight, b.weight)
        assert np.array_equal(a.bias, b.bias) and a.requant == b.requant
    assert loaded.input_scale == digits_qmodel.input_scale
    assert loaded.scales == digits_qmodel.scales
    assert loaded.architecture_digest() == digits_qmodel.architecture_digest()
    assert np.array_equal(loaded.predict(digits[2]), digits_qmodel.predict(digits[2]))


def test_opening_is_stored_but_not_in_the_architecture(tmp_path, digits_qmodel):
    m = QuantizedModel.from_bytes(digits_qmodel.to_bytes())
    m.opening = b"\x00secret blinding factors\xff" * 10
    data = m.to_bytes()
    back = QuantizedModel.from_bytes(data)
    assert back.opening == m.opening
    assert back.architecture_digest() == digits_qmodel.architecture_digest()
    m.opening = b""
    assert QuantizedModel.from_bytes(m.to_bytes()).opening == b""


def test_architecture_is_public_canonical_json(digits_qmodel):
    arch = digits_qmodel.architecture()
    assert json.loads(canonical_json(arch)) == arch
    assert arch["input_shape"] == [64] and arch["n_classes"] == 10
    assert [(l["in"], l["out"]) for l in arch["layers"]] == [(64, 32), (32, 10)]
    assert arch["layers"][1]["requant"] is None
    assert set(arch["layers"][0]["requant"]) == {"multiplier", "shift"}
    assert arch["parameter_count"] == 64 * 32 + 32 + 32 * 10 + 10
    assert float(arch["input_scale"]) == digits_qmodel.input_scale
    text = canonical_json(arch).decode()
    assert " " not in text and "weight" not in text and "bias" not in text
    assert digits_qmodel.architecture_digest() == hashlib.sha256(
        json.dumps(arch, sort_keys=True, separators=(",", ":")).encode()).digest()
    assert architecture_digest(arch) == digits_qmodel.architecture_digest()


def test_truncated_file_raises_format_error(digits_qmodel):
    data = digits_qmodel.to_bytes()
    for cut in [0, 4, 8, 12, 14, 40, len(data) // 2, len(data) - 33, len(data) - 1]:
        with pytest.raises(FormatError):
            QuantizedModel.from_bytes(data[:cut])
    with pytest.raises(FormatError, match="trailing|truncated"):
        QuantizedModel.from_bytes(_reseal(data[:-32] + b"\x00" * 8))


def test_wrong_magic_version_and_corruption(tmp_path, digits_qmodel):
    data = digits_qmodel.to_bytes()
    with pytest.raises(FormatError, match="magic"):
        QuantizedModel.from_bytes(b"ZKMPROOF" + data[8:])
    with pytest.raises(FormatError, match="version"):
        QuantizedModel.from_bytes(MAGIC + struct.pack(">H", 99) + data[10:])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    with pytest.raises(FormatError, match="checksum"):
        QuantizedModel.from_bytes(bytes(flipped))
    (tmp_path / "x.onnx").write_bytes(b"\x08\x07" + bytes(100))
    with pytest.raises(FormatError):
        QuantizedModel.load(tmp_path / "x.onnx")


def test_out_of_range_values_are_rejected(digits_qmodel):
    data = digits_qmodel.to_bytes()
    prefix, header, payload = _split(data)
    w = bytearray(payload)
    w[0:8] = struct.pack("<q", 128)  # first weight outside [-127, 127]
    with pytest.raises(FormatError, match="weights outside"):
        QuantizedModel.from_bytes(_reseal(prefix + header + bytes(w)))
    off = 8 * 64 * 32  # first bias of layer 0
    w = bytearray(payload)
    w[off:off + 8] = struct.pack("<q", 2 ** 23)
    with pytest.raises(FormatError, match="biases outside"):
        QuantizedModel.from_bytes(_reseal(prefix + header + bytes(w)))


def _with_header(data: bytes, edit) -> bytes:
    prefix, header, payload = _split(data)
    h = json.loads(header)
    edit(h)
    nh = canonical_json(h)
    return _reseal(MAGIC + struct.pack(">HI", 1, len(nh)) + nh + payload)


@pytest.mark.parametrize("edit, exc, match", [
    (lambda h: h["architecture"]["layers"][0].update(requant={"multiplier": 2 ** 16,
                                                              "shift": 20}),
     FormatError, "multiplier"),
    (lambda h: h["architecture"]["layers"][0].update(requant={"multiplier": 5, "shift": 33}),
     FormatError, "shift"),
    (lambda h: h["architecture"]["layers"][0].update(requant=None), FormatError, "hidden"),
    (lambda h: h["architecture"]["layers"][0].update(requant={"multiplier": 65535, "shift": 1}),
     UnsupportedModelError, "quotient"),
    (lambda h: h["architecture"].update(n_classes=9), FormatError, "n_classes"),
    (lambda h: h["architecture"].update(input_shape=[63]), FormatError, "inputs"),
    (lambda h: h["architecture"]["layers"][0].update({"in": 63}), FormatError, "truncated"),
    (lambda h: h["architecture"].update(input_scale="nan"), FormatError, "input_scale"),
    (lambda h: h["architecture"].update(parameter_count=1), FormatError, "canonical"),
    (lambda h: h.pop("opening_length"), FormatError, "malformed"),
])
def test_inconsistent_headers(digits_qmodel, edit, exc, match):
    with pytest.raises(exc, match=match):
        QuantizedModel.from_bytes(_with_header(digits_qmodel.to_bytes(), edit))


def test_header_not_json(digits_qmodel):
    data = digits_qmodel.to_bytes()
    prefix, header, payload = _split(data)
    bad = b"{" * len(header)
    with pytest.raises(FormatError, match="JSON"):
        QuantizedModel.from_bytes(_reseal(prefix + bad + payload))


def test_weight_range_is_one_rule_for_the_model_and_the_circuit():
    """zkml/constants.py: weights in [-128, 127]; the model format accepts exactly what the
    circuit's range check proves (it once accepted -128 in the circuit only)."""
    import random

    from zkml.circuit import WEIGHT_OFFSET, Circuit
    from zkml.formats.opening import commit
    from zkml.constants import WEIGHT_BITS, WEIGHT_MAX, WEIGHT_MIN
    from zkml.prover import prove_statement
    from zkml.verifier import verify_statement

    assert (WEIGHT_MIN + WEIGHT_OFFSET, WEIGHT_MAX + WEIGHT_OFFSET) == (0, (1 << WEIGHT_BITS) - 1)
    w = np.array([[WEIGHT_MIN, WEIGHT_MAX, 3], [1, -2, WEIGHT_MIN]], dtype=np.int64)
    model = QuantizedModel((3,), 0.1, 2, [DenseLayer(w, np.zeros(2, dtype=np.int64), None)], [1.0])
    model.validate()
    x = np.array([[5, -7, 100], [1, 2, 3]], dtype=np.int64)
    y = np.argmax(model.forward_int(x), axis=1)
    com = commit(model, random.Random(1))
    assert verify_statement(com, x, y, prove_statement(model, x, y, rng=random.Random(2))) == 2
    assert Circuit(model.architecture(), 2).group_by_name["W1"].ranges[0].offset == -WEIGHT_MIN
    too_small = QuantizedModel((3,), 0.1, 2, [DenseLayer(w - (w == WEIGHT_MIN), np.zeros(2, dtype=np.int64), None)],
                               [1.0])
    with pytest.raises(FormatError, match=r"weights outside \[-128, 127\]"):
        too_small.validate()
