"""Public layer descriptions for the circuit: each layer's kind, parameters and the padded
layout of its input and output activations (per sample, one joint index over the real
shape, padded once to a power of two; weights pad every dimension separately). Built
identically by prover and verifier from the architecture."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zkml.errors import FormatError
from zkml.arith.field import P, eq_table, mle_eval


def log2_pow2(n: int) -> int:
    """Number of variables for n entries padded to a power of two (at least 1 variable)."""
    return max(1, (max(n, 1) - 1).bit_length())


def prefix_indicator(real: int, n_vars: int) -> np.ndarray:
    """[i < real] for i in [0, 2^n_vars)."""
    v = np.zeros(1 << n_vars, dtype=np.int64)
    v[:real] = 1
    return v


def prefix_eval(real: int, point: list[int]) -> int:
    """The MLE of [x < real] over {0,1}^len(point) (first variable most significant) at
    point, in O(len(point)): x < real iff at the first bit where they differ real has a 1."""
    n = len(point)
    if real >= 1 << n:
        return 1
    out, run = 0, 1
    for j, p in enumerate(point):
        if (real >> (n - 1 - j)) & 1:
            out = (out + run * (1 - p)) % P
            run = run * p % P
        else:
            run = run * (1 - p) % P
    return out


@dataclass(frozen=True)
class Grid:
    """A tensor with every dimension padded to a power of two separately (C order): the
    layout of weights and biases, and the factored domain of a convolution's sumchecks."""
    real: tuple[int, ...]
    vars: tuple[int, ...]

    @classmethod
    def of(cls, shape) -> "Grid":
        shape = tuple(int(d) for d in shape)
        return cls(shape, tuple(log2_pow2(d) for d in shape))

    @property
    def padded(self) -> tuple[int, ...]:
        return tuple(1 << v for v in self.vars)

    @property
    def n_vars(self) -> int:
        return sum(self.vars)

    @property
    def size(self) -> int:
        return 1 << self.n_vars

    @property
    def real_size(self) -> int:
        return math.prod(self.real)

    def valid(self) -> np.ndarray:
        """1 on real positions, 0 on padding (flattened padded layout)."""
        out = np.ones(1, dtype=np.int64)
        for r, v in zip(self.real, self.vars):
            out = np.multiply.outer(out, prefix_indicator(r, v)).ravel()
        return out

    def valid_eval(self, point: list[int]) -> int:
        """The MLE of valid() at point, in time linear in the number of variables."""
        out, pos = 1, 0
        for r, v in zip(self.real, self.vars):
            out = out * prefix_eval(r, point[pos:pos + v]) % P
            pos += v
        return out

    def pad(self, a: np.ndarray) -> np.ndarray:
        """[N, *real] -> [N, *padded] with zeros, flattened per sample to [N, size]."""
        a = np.asarray(a).reshape((len(a),) + self.real)
        out = np.zeros((len(a),) + self.padded, dtype=np.int64)
        out[(slice(None),) + tuple(slice(0, r) for r in self.real)] = a
        return out.reshape(len(a), -1)

    def index(self) -> np.ndarray:
        """The position in this padded layout of every real entry, in C order over the real
        shape (so entry y of a jointly indexed tensor sits at index()[y])."""
        pos = np.zeros(1, dtype=np.int64)
        for r, v in zip(self.real, self.vars):
            pos = (pos[:, None] * (1 << v) + np.arange(r, dtype=np.int64)[None, :]).ravel()
        return pos


@dataclass(frozen=True)
class Layout:
    """Per-sample activation layout: the real shape (C order) and ONE joint index over it,
    y = c H W + h W + w, padded once to a power of two (zeros at the end). Committed
    activations use it; grid is the per-dimension padding that weights and a convolution's
    factored sumchecks use. For a 1-D shape both coincide."""
    real: tuple[int, ...]

    @classmethod
    def of(cls, shape) -> "Layout":
        return cls(tuple(int(d) for d in shape))

    @property
    def grid(self) -> Grid:
        return Grid.of(self.real)

    @property
    def real_size(self) -> int:
        return math.prod(self.real)

    @property
    def n_vars(self) -> int:
        return log2_pow2(self.real_size)

    @property
    def size(self) -> int:
        return 1 << self.n_vars

    def valid(self) -> np.ndarray:
        """1 on real positions (a prefix), 0 on padding."""
        return prefix_indicator(self.real_size, self.n_vars)

    def valid_eval(self, point: list[int]) -> int:
        return prefix_eval(self.real_size, point)

    def pad(self, a: np.ndarray) -> np.ndarray:
        """[N, *real] (or [N, real size]) -> [N, size], zeros at the end of every sample."""
        a = np.asarray(a).reshape(len(a), -1)
        out = np.zeros((len(a), self.size), dtype=np.int64)
        out[:, :a.shape[1]] = a
        return out

    def real_part(self, a: np.ndarray) -> np.ndarray:
        """[N, size] -> [N, *real]: the real entries of jointly padded activations."""
        a = np.asarray(a)
        return a.reshape(len(a), -1)[:, :self.real_size].reshape((len(a),) + self.real)

    def same_as_grid(self) -> bool:
        """True when the joint and the per-dimension layouts are the same tensor (every
        dimension but the first a power of two >= 2): then no re-indexing is needed."""
        g = self.grid
        return g.size == self.size and all(r == p for r, p in zip(self.real[1:], g.padded[1:]))

    def to_grid(self, v: np.ndarray) -> np.ndarray:
        """A per-sample field vector (object array) from the joint index to the grid (zeros on
        the grid's padding)."""
        out = np.zeros(self.grid.size, dtype=object)
        out[self.grid.index()] = np.asarray(v, dtype=object)[:self.real_size]
        return out

    def reindex_table(self, grid_point: list[int]) -> np.ndarray:
        """E(y) = eq(grid_point, grid position of y) for real joint indices y, 0 on padding:
        Grid-MLE(grid_point) = sum_y E(y) Joint(y) for a tensor in both layouts (object array)."""
        out = np.zeros(self.size, dtype=object)
        out[:self.real_size] = eq_table(grid_point)[self.grid.index()]
        return out

    def reindex_eval(self, grid_point: list[int], joint_point: list[int]) -> int:
        """The MLE of reindex_table(grid_point) at joint_point, in O(size + grid size): also
        the MLE over the grid of eq(joint_point, joint index) at grid_point (it is symmetric)."""
        e = eq_table(grid_point)[self.grid.index()]
        return int(np.dot(e, eq_table(joint_point)[:self.real_size])) % P


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the circuit (index from 1, as in the tensor names W<i>, A<i>)."""
    index: int
    kind: str                     # dense, conv, maxpool, avgpool
    desc: dict                    # the architecture's entry
    inp: Layout
    out: Layout
    is_last: bool
    tag: str = ""                 # "p": the projection shortcut of layer `index` (tensors W<i>p, b<i>p)
    source: int | None = None     # the layer whose output is the input (None: the previous one)
    proj: "LayerSpec | None" = None   # this layer's projection shortcut, a 1x1 conv on A_source

    @property
    def weighted(self) -> bool:
        return self.kind in ("dense", "conv")

    @property
    def w_name(self) -> str:
        return f"W{self.index}{self.tag}"

    @property
    def b_name(self) -> str:
        return f"b{self.index}{self.tag}"

    @property
    def in_name(self) -> str | None:
        """The committed input activations, or None for the public input."""
        j = self.index - 1 if self.source is None else self.source
        return f"A{j}" if j >= 1 else None

    @property
    def label(self) -> str:
        return f"proj{self.index}" if self.tag else f"{'conv' if self.kind == 'conv' else 'matmul'}{self.index}"

    @property
    def is_pool(self) -> bool:
        return self.kind in ("maxpool", "avgpool")

    @property
    def kernel(self) -> tuple[int, int]:
        return tuple(int(k) for k in self.desc["kernel"])

    @property
    def stride(self) -> tuple[int, int]:
        return tuple(int(s) for s in self.desc["stride"])

    @property
    def pads(self) -> tuple[int, int, int, int]:
        return tuple(int(p) for p in self.desc["pads"])

    def weight_layout(self) -> Grid:
        """W as a tensor: dense [out, input in its grid layout] (so a model's commitment does
        not depend on how activations are laid out), conv [OC, IC, KH, KW]."""
        if self.kind == "dense":
            return Grid((self.out.real[0], self.inp.real_size), (self.out.grid.vars[0], self.inp.grid.n_vars))
        oc, ic = self.out.real[0], self.inp.real[0]
        kh, kw = self.kernel
        return Grid((oc, ic, kh, kw), (self.out.grid.vars[0], self.inp.grid.vars[0], log2_pow2(kh), log2_pow2(kw)))

    def weight_valid(self) -> np.ndarray:
        if self.kind == "dense":
            return np.multiply.outer(prefix_indicator(self.out.real[0], self.out.n_vars), self.inp.grid.valid()).ravel()
        return self.weight_layout().valid()

    def weight_valid_eval(self, point: list[int]) -> int:
        if self.kind == "dense":
            a = self.out.n_vars
            return mle_eval(prefix_indicator(self.out.real[0], a).astype(object), point[:a]) \
                * self.inp.grid.valid_eval(point[a:]) % P
        return self.weight_layout().valid_eval(point)

    def channel_multipliers(self) -> list[int] | None:
        """Per-output-channel requantization multipliers (padded channels get 1), or None
        when the layer has one multiplier."""
        m = (self.desc.get("requant") or {}).get("multiplier")
        if not isinstance(m, list):
            return None
        return [int(v) for v in m] + [1] * (self.out.grid.padded[0] - len(m))

    def multiplier_table(self) -> np.ndarray:
        """The multiplier of every output entry (joint layout, 1 on padding), or the scalar."""
        ms = self.channel_multipliers()
        if ms is None:
            return np.int64(self.desc["requant"]["multiplier"])
        out = np.ones(self.out.size, dtype=np.int64)
        per_channel = self.out.real_size // self.out.real[0]
        out[:self.out.real_size] = np.repeat(np.asarray(ms[:self.out.real[0]], dtype=np.int64), per_channel)
        return out

    def bias_layout(self) -> Grid:
        return Grid((self.out.real[0],), (self.out.grid.vars[0],))


def _ints(v, n: int, what: str) -> tuple[int, ...]:
    if not isinstance(v, list) or len(v) != n or not all(type(x) is int for x in v):
        raise FormatError(f"architecture: {what} must be a list of {n} integers")
    return tuple(v)


def _window_out(size: int, k: int, s: int, pb: int, pe: int) -> int:
    return (size + pb + pe - k) // s + 1


def layer_specs(arch: dict) -> list[LayerSpec]:
    """The circuit's layers from a public architecture (MLP or net format); FormatError when
    the layers do not chain or a parameter is out of what the proof system supports."""
    from zkml.constants import MAX_POOL_KERNEL
    layers = arch["layers"]
    net = arch.get("format") == "zkml-net-v1"
    shape = tuple(int(d) for d in arch["input_shape"])
    if not net or layers[0].get("kind", "dense") == "dense":
        shape = (math.prod(shape),)
    specs = []
    for i, d in enumerate(layers, start=1):
        kind = d.get("kind", "dense") if net else "dense"
        inp = Layout.of(shape)
        if kind == "dense":
            if d["in"] != inp.real_size:
                if i == 1:
                    raise FormatError("architecture: input_shape does not match the first layer")
                raise FormatError(f"architecture: layer {i} takes {d['in']} inputs, gets {inp.real_size}")
            out_shape = (int(d["out"]),)
        elif kind in ("conv", "maxpool", "avgpool"):
            if len(shape) != 3 or _ints(d["in_shape"], 3, "in_shape") != shape:
                if i == 1:
                    raise FormatError("architecture: input_shape does not match the first layer")
                raise FormatError(f"architecture: layer {i} ({kind}) does not chain with its input {list(shape)}")
            kh, kw = _ints(d["kernel"], 2, "kernel")
            sh, sw = _ints(d["stride"], 2, "stride")
            pt, pl, pb, pr = _ints(d["pads"], 4, "pads")
            if (min(kh, kw, sh, sw) < 1 or max(kh, kw, sh, sw) > 64 or min(pt, pl, pb, pr) < 0
                    or pt >= kh or pb >= kh or pl >= kw or pr >= kw):
                raise FormatError(f"architecture: layer {i} has a bad kernel, stride or padding")
            if kind == "maxpool" and (max(kh, kw) > MAX_POOL_KERNEL or sh > kh or sw > kw):
                raise FormatError(f"architecture: layer {i}: pooling window not supported")
            oc = _ints(d["out_shape"], 3, "out_shape")[0] if kind == "conv" else shape[0]
            out_shape = (oc, _window_out(shape[1], kh, sh, pt, pb), _window_out(shape[2], kw, sw, pl, pr))
            if _ints(d["out_shape"], 3, "out_shape") != out_shape or min(out_shape) < 1:
                raise FormatError(f"architecture: layer {i} output shape must be {list(out_shape)}")
            if d["in"] != math.prod(shape) or d["out"] != math.prod(out_shape):
                raise FormatError(f"architecture: layer {i}: in/out sizes do not match its shapes")
        else:
            raise FormatError(f"architecture: unknown layer kind {kind!r}")
        specs.append(LayerSpec(i, kind, d, inp, Layout.of(out_shape), i == len(layers)))
        shape = out_shape
    last = specs[-1]
    if last.kind != "dense":
        raise FormatError("architecture: the last layer must be dense (the logits)")
    for s in specs:
        has_rq = s.desc.get("requant") is not None
        if s.kind in ("maxpool", "avgpool"):
            if s.index == 1 or s.is_last or "requant" in s.desc:
                raise FormatError(f"architecture: layer {s.index}: pooling must sit between two layers")
        elif has_rq == s.is_last:
            raise FormatError("architecture: every hidden layer requantizes, the last does not")
        elif has_rq and s.desc["requant"].get("residual") is not None:
            res = s.desc["requant"]["residual"]
            j = res.get("from") if isinstance(res, dict) else None
            m = res.get("multiplier") if isinstance(res, dict) else None
            if (type(j) is not int or type(m) is not int or not 1 <= j < s.index or not 1 <= m < 1 << 16
                    or specs[j - 1].out != s.out or specs[j - 1].is_last):
                raise FormatError(f"architecture: layer {s.index}: the residual branch must read an earlier "
                                  "hidden layer's output of the same shape")
        if has_rq and s.desc["requant"].get("projection") is not None:
            specs[s.index - 1] = _with_projection(specs, s)
    return specs


def _with_projection(specs: list[LayerSpec], s: LayerSpec) -> LayerSpec:
    """Layer s with its projection shortcut's spec: a 1x1 convolution without padding of an
    earlier hidden layer's output A_j onto s's output shape, per-channel multipliers m_p in
    [1, 2^16). So |m_p z_p| < 2^16 (127 * 128 * C_j + 2^23) for range-checked W_p, b_p and A_j
    in [0, 127], which with the main branch's bound keeps m Z + m_p Z_p far below r / 2."""
    p, rq = s.desc["requant"]["projection"], s.desc["requant"]
    j, m = (p.get(k) if isinstance(p, dict) else None for k in ("from", "multiplier"))
    bad = FormatError(f"architecture: layer {s.index}: the projection shortcut must be a 1x1 convolution "
                      "(stride >= 1, no padding) of an earlier hidden layer's output onto the layer's shape")
    if s.kind != "conv" or rq.get("residual") is not None or type(j) is not int or not 1 <= j < s.index \
            or specs[j - 1].is_last or len(specs[j - 1].out.real) != 3 or set(p) != {"from", "kernel", "stride", "multiplier"}:
        raise bad
    if _ints(p["kernel"], 2, "projection kernel") != (1, 1):
        raise bad
    sh, sw = _ints(p["stride"], 2, "projection stride")
    c, h, w = specs[j - 1].out.real
    if min(sh, sw) < 1 or max(sh, sw) > 64 or s.out.real[1:] != (_window_out(h, 1, sh, 0, 0), _window_out(w, 1, sw, 0, 0)):
        raise bad
    if not isinstance(m, list) or len(m) != s.out.real[0] or not all(type(v) is int and 1 <= v < 1 << 16 for v in m):
        raise FormatError(f"architecture: layer {s.index}: one projection multiplier in [1, 2^16) per channel")
    kh, kw = s.kernel
    z_bound = 127 * 128 * s.inp.real[0] * kh * kw + (1 << 23)       # |Z| of the main branch
    if (1 << 16) * (z_bound + 127 * 128 * c + (1 << 23)) + (1 << 32) >= P // 2:
        raise FormatError(f"architecture: layer {s.index}: m Z + m_p Z_p could wrap around the field")
    desc = {"kernel": [1, 1], "stride": [sh, sw], "pads": [0, 0, 0, 0], "requant": {"multiplier": m}}
    proj = LayerSpec(s.index, "conv", desc, specs[j - 1].out, s.out, False, tag="p", source=j)
    return LayerSpec(s.index, s.kind, s.desc, s.inp, s.out, s.is_last, proj=proj)


def weighted_specs(specs: list[LayerSpec]) -> list[LayerSpec]:
    """The specs with committed weights, in commitment order: every dense or conv layer, then
    its projection shortcut."""
    out = []
    for s in specs:
        out += [t for t in (s, s.proj) if t is not None and t.weighted]
    return out


def model_tensor_vars(specs: list[LayerSpec]) -> dict[str, int]:
    """Committed model tensors (W<i>, b<i> of dense and conv layers) and their variables, in order."""
    out = {}
    for s in weighted_specs(specs):
        out[s.w_name] = s.weight_layout().n_vars
        out[s.b_name] = s.bias_layout().n_vars
    return out


def parameter_count(arch: dict) -> int:
    """Weights and biases of the architecture's dense and conv layers (and projections)."""
    return sum(math.prod(s.weight_layout().real) + s.out.real[0] for s in weighted_specs(layer_specs(arch)))


def summary(arch: dict) -> str:
    """A readable one-line description, e.g. 'Conv 5×5×6 → MaxPool 2 → 256→120→84→10'
    (a stride other than 1 (conv) or the kernel (pooling) follows a slash)."""
    parts, dense = [], []
    for s in layer_specs(arch):
        if s.kind == "dense":
            dense += [] if dense else [str(s.inp.real_size)]
            dense.append(str(s.out.real[0]))
            continue
        if dense:
            parts.append("→".join(dense))
            dense = []
        parts.append(_window_label(s))
    if dense:
        parts.append("→".join(dense))
    return " → ".join(parts)


def _window_label(s: LayerSpec) -> str:
    (kh, kw), stride = s.kernel, s.stride
    if s.kind == "avgpool" and s.out.real[1:] == (1, 1) and (kh, kw) == s.inp.real[1:]:
        return "GlobalAvgPool"
    if s.kind == "conv":
        label, plain = f"Conv {kh}×{kw}×{s.out.real[0]}", (1, 1)
    else:
        label = ("MaxPool " if s.kind == "maxpool" else "AvgPool ") + (f"{kh}" if kh == kw else f"{kh}×{kw}")
        plain = (kh, kw)
    label += _stride_label(stride, plain)
    if s.proj is not None:
        label += f" (+1×1{_stride_label(s.proj.stride, (1, 1))} proj)"
    return label


def _stride_label(stride: tuple[int, int], plain: tuple[int, int]) -> str:
    if stride == plain:
        return ""
    return f"/{stride[0]}" if stride[0] == stride[1] else f"/{stride[0]}×{stride[1]}"
