"""The quantized integer MLP that zkml proves, and its ``.zkm`` file format.

Integer semantics (the relation the prover proves, exactly)::

    x_int  = clamp(rint(float64(x) / input_scale), -127, 127)  # np.rint: half to even
    z_l    = a_{l-1} @ W_l.T + b_l                              # a_0 = x_int, flattened (C order)
    q_l    = floor((m_l * z_l + 2**(k_l - 1)) / 2**k_l)         # = (m*z + 2**(k-1)) >> k
    a_l    = clamp(q_l, 0, 127)                                 # ReLU folded into the clamp
    logits = z_L                                                # last layer: no requant
    label  = first index of the maximum of logits               # numpy argmax rule

Bounds checked by :meth:`QuantizedModel.validate` (and therefore by ``load``):
weights in [-127, 127], biases in [-2**23, 2**23), 1 <= m < 2**16, 1 <= k <= 32,
for every hidden layer and every reachable z: -2**15 <= q < 2**15, and for the
last layer every reachable |logit| < 2**30.  "Reachable" uses the per-row bound
``|z_i| <= 127 * sum_j |W_ij| + |b_i|`` (inputs and activations lie in
[-127, 127]); it never exceeds the coarse bound ``127*127*in + max|b|``.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from .errors import FormatError, UnsupportedModelError
from .jsonutil import parse_json

# --- constants shared with the prover/verifier ---------------------------------
ACT_MAX = 127                   # int8 activations / inputs: [-127, 127] in, [0, 127] hidden
WEIGHT_MAX = 127                # weights in [-WEIGHT_MAX, WEIGHT_MAX]
BIAS_BITS = 23                  # biases in [-2**23, 2**23)
MULTIPLIER_BITS = 16            # 1 <= m < 2**16
SHIFT_MIN, SHIFT_MAX = 1, 32    # 1 <= k <= 32
QUOTIENT_BITS = 15              # hidden requant quotient q in [-2**15, 2**15)
LOGIT_BITS = 30                 # last-layer logits |z| < 2**30

MAGIC = b"ZKMMODEL"
FORMAT_VERSION = 1
ARCH_FORMAT = "zkml-mlp-v1"

_HEADER = struct.Struct(">HI")  # version (uint16), JSON header length (uint32), big-endian
_MAX_HEADER = 1 << 20
_DIGEST_LEN = 32


# --- small helpers ---------------------------------------------------------------
def canonical_json(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def architecture_digest(arch: dict) -> bytes:
    """SHA-256 of the canonical JSON of an architecture dict (what the transcript absorbs)."""
    return hashlib.sha256(canonical_json(arch)).digest()


def float_repr(x: float) -> str:
    """Exact, round-trippable text form of a float (Python's shortest repr)."""
    return repr(float(x))


def quantize_array(x: np.ndarray, input_scale: float) -> np.ndarray:
    """float [N, ...] -> int64 [N, prod(...)]: clamp(rint(float64(x) / input_scale), -127, 127).

    The division is done in float64 (IEEE, deterministic); np.rint rounds half to even.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise FormatError(f"input must have shape [N, ...], got {x.shape}")
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.floating)
                                   or np.issubdtype(x.dtype, np.integer)):
        raise FormatError(f"input must be numeric, got dtype {x.dtype}")
    d = int(np.prod(x.shape[1:], dtype=np.int64))
    x64 = x.astype(np.float64).reshape(x.shape[0], d)
    if not np.all(np.isfinite(x64)):
        raise FormatError("input contains NaN or infinity")
    q = np.clip(np.rint(x64 / float(input_scale)), -ACT_MAX, ACT_MAX)
    return q.astype(np.int64)


def requant(z: np.ndarray, multiplier: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (q, a): q = (m*z + 2**(k-1)) >> k (floor), a = clamp(q, 0, 127)."""
    q = (np.int64(multiplier) * z + np.int64(1 << (shift - 1))) >> np.int64(shift)
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
    """Hidden-layer requantization: a = clamp(floor((m*z + 2**(k-1)) / 2**k), 0, 127)."""

    multiplier: int  # m, 1 <= m < 2**16
    shift: int       # k, 1 <= k <= 32


@dataclass
class DenseLayer:
    """y = x @ weight.T + bias, in integers."""

    weight: np.ndarray        # int64 [out, in], values in [-127, 127]
    bias: np.ndarray          # int64 [out], values in [-2**23, 2**23)
    requant: Requant | None   # None for the last layer (raw int logits)

    @property
    def in_dim(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_dim(self) -> int:
        return int(self.weight.shape[0])


@dataclass
class QuantizedModel:
    """A quantized MLP: int8 weights, int biases, fixed-point requantization between layers."""

    input_shape: tuple[int, ...]
    input_scale: float
    n_classes: int
    layers: list[DenseLayer]
    scales: list[float]
    opening: bytes | None = field(default=None, repr=False)

    # -- inference ---------------------------------------------------------------
    @property
    def input_dim(self) -> int:
        return int(np.prod(self.input_shape, dtype=np.int64))

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """float [N, *input_shape] (or [N, d0]) -> int64 [N, d0]."""
        x = np.asarray(x)
        if x.ndim < 2 or int(np.prod(x.shape[1:], dtype=np.int64)) != self.input_dim:
            raise FormatError(f"input shape {tuple(x.shape)} does not match the model's "
                              f"per-sample shape {self.input_shape}")
        return quantize_array(x, self.input_scale)

    def hidden_int(self, x_int: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Every layer's pre-activation z and post-activation a (None for the last layer)."""
        a = np.asarray(x_int)
        if a.ndim != 2 or a.shape[1] != self.input_dim:
            raise FormatError(f"x_int must have shape [N, {self.input_dim}], got {a.shape}")
        if not np.issubdtype(a.dtype, np.integer):
            raise FormatError("x_int must be an integer array")
        a = a.astype(np.int64)
        out: list[tuple[np.ndarray, np.ndarray | None]] = []
        for layer in self.layers:
            # float64 BLAS product is exact: every partial sum is an integer of magnitude
            # <= 127 * 127 * in < 2**53, so it equals the int64 product (much faster).
            z = np.rint(a.astype(np.float64) @ layer.weight.T.astype(np.float64))
            z = z.astype(np.int64) + layer.bias
            if layer.requant is None:
                out.append((z, None))
            else:
                _, a = requant(z, layer.requant.multiplier, layer.requant.shift)
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
        return int(sum(l.weight.size + l.bias.size for l in self.layers))

    def architecture(self) -> dict:
        """Public, JSON-able, canonical description (no weights)."""
        return {
            "format": ARCH_FORMAT,
            "input_shape": [int(d) for d in self.input_shape],
            "input_scale": float_repr(self.input_scale),
            "n_classes": int(self.n_classes),
            "layers": [
                {
                    "in": l.in_dim,
                    "out": l.out_dim,
                    "requant": None if l.requant is None else
                    {"multiplier": int(l.requant.multiplier), "shift": int(l.requant.shift)},
                }
                for l in self.layers
            ],
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
        prev = self.input_dim
        last = len(self.layers) - 1
        for i, l in enumerate(self.layers):
            w, b = l.weight, l.bias
            if not isinstance(w, np.ndarray) or w.dtype != np.int64 or w.ndim != 2:
                raise FormatError(f"layer {i}: weight must be an int64 matrix")
            if not isinstance(b, np.ndarray) or b.dtype != np.int64 or b.shape != (w.shape[0],):
                raise FormatError(f"layer {i}: bias must be int64 of shape [{w.shape[0]}]")
            if w.shape[0] < 1:
                raise FormatError(f"layer {i}: no outputs")
            if w.shape[1] != prev:
                raise FormatError(f"layer {i}: expects {w.shape[1]} inputs but gets {prev}")
            if w.size and int(np.abs(w).max()) > WEIGHT_MAX:
                raise FormatError(f"layer {i}: weights outside [-{WEIGHT_MAX}, {WEIGHT_MAX}]")
            if int(b.min()) < -(1 << BIAS_BITS) or int(b.max()) >= (1 << BIAS_BITS):
                raise FormatError(f"layer {i}: biases outside [-2**{BIAS_BITS}, 2**{BIAS_BITS})")
            zmax = int(row_bounds(w, b).max())
            if i < last:
                rq = l.requant
                if rq is None:
                    raise FormatError(f"layer {i}: hidden layer without requantization")
                m, k = rq.multiplier, rq.shift
                if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                           for v in (m, k)):
                    raise FormatError(f"layer {i}: multiplier and shift must be ints")
                m, k = int(m), int(k)
                if not (1 <= m < (1 << MULTIPLIER_BITS)):
                    raise FormatError(f"layer {i}: multiplier {m} outside [1, 2**16)")
                if not (SHIFT_MIN <= k <= SHIFT_MAX):
                    raise FormatError(f"layer {i}: shift {k} outside [1, 32]")
                if not requant_fits(zmax, m, k):
                    raise UnsupportedModelError(
                        f"layer {i}: requantization quotient can leave [-2**15, 2**15) "
                        f"(worst-case |z| = {zmax}, m = {m}, k = {k})")
            else:
                if l.requant is not None:
                    raise FormatError("last layer must not have requantization")
                if zmax >= (1 << LOGIT_BITS):
                    raise UnsupportedModelError(
                        f"last layer: worst-case |logit| = {zmax} does not fit below 2**30")
            prev = w.shape[0]
        if prev != self.n_classes:
            raise FormatError(f"last layer has {prev} outputs but n_classes = {self.n_classes}")
        if self.n_classes < 2:
            raise FormatError("n_classes must be at least 2")

    # -- file format ---------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Canonical ``.zkm`` bytes.

        Layout: ``b"ZKMMODEL"`` | version uint16 BE | header length uint32 BE |
        canonical JSON header {"architecture", "opening_length"} |
        for each layer: weight (out*in) then bias (out), little-endian int64, C order |
        opening bytes | SHA-256 of everything before it.
        """
        self.validate()
        header = canonical_json({
            "architecture": self.architecture(),
            "opening_length": None if self.opening is None else len(self.opening),
        })
        parts = [MAGIC, _HEADER.pack(FORMAT_VERSION, len(header)), header]
        for l in self.layers:
            parts.append(np.ascontiguousarray(l.weight, dtype="<i8").tobytes())
            parts.append(np.ascontiguousarray(l.bias, dtype="<i8").tobytes())
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
            dims = [(int(l["out"]), int(l["in"])) for l in arch["layers"]]
            if any(o < 1 or i < 1 or o * i > (1 << 32) for o, i in dims):
                raise FormatError("bad layer dimensions in header")
            need = sum(8 * (o * i + o) for o, i in dims) + (opening_len or 0)
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
        layers = []
        try:
            for idx, ((o, i), ld) in enumerate(zip(dims, arch["layers"])):
                w = np.frombuffer(data, dtype="<i8", count=o * i, offset=pos).reshape(o, i)
                pos += 8 * o * i
                b = np.frombuffer(data, dtype="<i8", count=o, offset=pos)
                pos += 8 * o
                rq = ld["requant"]
                requant_ = None if rq is None else Requant(int(rq["multiplier"]), int(rq["shift"]))
                layers.append(DenseLayer(w.astype(np.int64), b.astype(np.int64), requant_))
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
                and all(np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
                        for a, b in zip(self.layers, other.layers)))
