"""Model commitments: the public COMMIT.json format.

A commitment holds the public architecture and, for every weight matrix and bias vector
(zero-padded to powers of two), its Hyrax row commitments. The opening (the row blinding
factors) stays with the private model file; committing and the opening are the model
owner's side, in opening.py (not on the verifier's import path).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from zkml.layers.spec import layer_specs, model_tensor_vars, weighted_specs
from zkml.arith.curve import get_backend
from zkml.formats.files import read_bounded, write_bytes
from zkml.errors import FormatError
from zkml.formats.jsonutil import canonical_json, parse_json
from zkml.constants import ARCH_FORMAT, NET_ARCH_FORMAT
from zkml.commitments.pedersen import TensorCommitment, layout

COMMITMENT_FORMAT = "proofboard-zkml-commitment"
COMMITMENT_VERSION = 1
MAX_COMMITMENT_BYTES = 64 << 20


@dataclass
class Commitment:
    architecture: dict
    tensors: dict[str, TensorCommitment]

    def tensor_bytes(self) -> bytes:
        """Canonical bytes of all row commitments, as the transcript absorbs them."""
        return b"".join(self.tensors[n].to_bytes()
                        for n in model_tensor_vars(layer_specs(self.architecture)))

    def to_bytes(self) -> bytes:
        be = get_backend()
        doc = {"format": COMMITMENT_FORMAT, "version": COMMITMENT_VERSION,
               "architecture": self.architecture,
               "tensors": {n: [be.to_bytes(r).hex() for r in tc.rows] for n, tc in self.tensors.items()}}
        return canonical_json(doc) + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> "Commitment":
        """Parse and validate COMMIT.json; FormatError names what is wrong."""
        if len(data) > MAX_COMMITMENT_BYTES:
            raise FormatError(f"commitment file is larger than {MAX_COMMITMENT_BYTES} bytes")
        doc = parse_json(data, "commitment")
        if not isinstance(doc, dict) or doc.get("format") != COMMITMENT_FORMAT:
            raise FormatError(f"not a commitment file (expected format '{COMMITMENT_FORMAT}')")
        if doc.get("version") != COMMITMENT_VERSION:
            raise FormatError(f"unsupported commitment version {doc.get('version')!r}")
        arch = doc.get("architecture")
        _check_architecture(arch)
        be = get_backend()
        tensors = {}
        raw = doc.get("tensors")
        if not isinstance(raw, dict):
            raise FormatError("commitment has no 'tensors' object")
        for name, n_vars in model_tensor_vars(layer_specs(arch)).items():
            if True:
                rows_hex = raw.get(name)
                want = 1 << layout(n_vars)[0]
                if not isinstance(rows_hex, list) or len(rows_hex) != want:
                    raise FormatError(f"commitment tensor '{name}' must have {want} rows")
                try:
                    rows = [be.from_bytes(bytes.fromhex(r)) for r in rows_hex]
                except (ValueError, TypeError) as exc:
                    raise FormatError(f"commitment tensor '{name}': {exc}") from None
                tensors[name] = TensorCommitment(n_vars, rows)
        if set(raw) != set(tensors):
            raise FormatError("commitment has unexpected tensors: " + ", ".join(sorted(set(raw) - set(tensors))))
        return cls(arch, tensors)

    def save(self, path) -> None:
        write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path) -> "Commitment":
        return cls.from_bytes(read_bounded(path, MAX_COMMITMENT_BYTES, "commitment"))


MAX_WIDTH = 1 << 14           # neurons or inputs per layer
MAX_LAYERS = 16
MAX_PARAMETERS = 1 << 24


def _check_architecture(arch) -> None:
    """The public architecture must describe a model this verifier supports: layers chain,
    sizes within bounds (the verifier's cost grows with them), a finite positive input
    scale in canonical form, and metadata consistent with the layers."""
    try:
        layers = arch["layers"]
        scale_text = arch["input_scale"]
        scale = float(scale_text)
        shape = [int(d) for d in arch["input_shape"]]
        ok = (isinstance(layers, list) and layers and isinstance(arch["n_classes"], int)
              and all(isinstance(l["in"], int) and isinstance(l["out"], int) and l["in"] > 0
                      and l["out"] > 0 for l in layers)
              and all(layers[i]["out"] == layers[i + 1]["in"] for i in range(len(layers) - 1))
              and layers[-1]["out"] == arch["n_classes"] and arch["n_classes"] >= 2
              and arch["format"] in (ARCH_FORMAT, NET_ARCH_FORMAT))
        specs = layer_specs(arch) if ok else []
        for spec in specs[:-1]:
            if spec.weighted:
                m, k = spec.desc["requant"]["multiplier"], spec.desc["requant"]["shift"]
                ms = m if isinstance(m, list) and len(m) == spec.out.real[0] > 1 else [m]
                ok = ok and all(type(v) is int and 1 <= v < 1 << 16 for v in ms) and type(k) is int and 1 <= k <= 32
    except (KeyError, TypeError, IndexError, ValueError, OverflowError, AttributeError):
        ok = False
    except FormatError as exc:
        raise FormatError(f"commitment {exc}") from None
    if not ok:
        raise FormatError("commitment architecture is malformed (layers must chain, end in "
                          "n_classes outputs, and requantize every hidden layer)")
    params = sum(math.prod(s.weight_layout().real) + s.out.real[0] for s in weighted_specs(specs))
    if (len(layers) > MAX_LAYERS or any(max(l["in"], l["out"]) > MAX_WIDTH for l in layers)
            or params > MAX_PARAMETERS):
        raise FormatError(f"commitment architecture is too large (at most {MAX_LAYERS} layers, "
                          f"{MAX_WIDTH} units per layer, {MAX_PARAMETERS} parameters)")
    if not (isinstance(scale_text, str) and math.isfinite(scale) and scale > 0 and repr(scale) == scale_text):
        raise FormatError("commitment architecture has an invalid input_scale "
                          "(a finite positive number, written as Python's repr of a float)")
    if math.prod(shape) != layers[0]["in"] or any(d <= 0 for d in shape):
        raise FormatError("commitment architecture: input_shape does not match the first layer")
    if arch.get("parameter_count", params) != params:
        raise FormatError(f"commitment architecture: parameter_count must be {params}")
