"""The public shape of the statement: which tensors exist, their sizes, the lookup table,
and how the verifier evaluates public tables. Built identically by prover and verifier from
the architecture and the dataset; holds no private value.

The layers come from layers/spec.py (shapes, padded layouts); each layer kind's own relation
(dense, conv, max and average pooling) is proved by its module in layers/. This module holds
what all of them share: the groups of committed tensors, the lookup table and leaves, the
zero-checks, the linear relations at the groups' points, and the argmax.

Integer relations proved (all entries are small integers, far from wrapping mod r):
  model:   W + 128 in [0, 256); padded W entries = 0; b + 2^23 in [0, 2^24); padded b = 0
  layer l: Z_l = A_{l-1} W_l^T + b_l, or the convolution (layers/dense.py, layers/conv.py)
  hidden:  m Z + 2^(k-1) = 2^k Q + R,  R in [0, 2^k),  (Q + 2^15, A) in CLAMP table
           i.e. Q in [-2^15, 2^15) and A = clamp(Q, 0, 127); a residual branch adds m_s A_j,
           a projection shortcut m_p ⊙ Z_p (layers/common.py) to m Z. Hidden Z is not committed:
           the matmul check starts from m^-1 (2^k Q + R - 2^(k-1)) (pre_activation()).
  argmax:  B one-hot over the real classes (the "beater"); c in {0,1}; c = 0 on padding
           lab_i  = Z_L[i, y_i];  zeta_i = Z_L[i, j_B] + [j_B < y_i]
           G = lab - Z_L - Lt + LAMBDA (1 - c) + LAMBDA pad_class  in [0, 2^margin_bits)
           H = zeta - lab - 1 + LAMBDA c + LAMBDA pad_sample      in [0, 2^margin_bits)
           with LAMBDA and margin_bits derived from the public architecture (Circuit).
           so c_i = 1 forces y_i to be the first maximum, c_i = 0 forces another class to
           beat it (numpy's argmax rule), and K = sum_i c_i.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zkml.protocols.expr import Affine, aff
from zkml.arith.field import P, eq_eval, eq_table, field_vec_times_int_matrix, mle_eval
from zkml.constants import ACT_BITS, ACT_MAX, BIAS_BITS, LIMB_BITS, QUOTIENT_BITS, WEIGHT_BITS, WEIGHT_MIN
from zkml.arith.frvec import FrVec
from zkml.commitments.pedersen import witness_columns
from zkml.layers.spec import LayerSpec, layer_specs, log2_pow2, model_tensor_vars, weighted_specs

CLAMP_BITS = QUOTIENT_BITS + 1          # (Q + 2^15) in [0, 2^16)
Q_OFFSET = 1 << QUOTIENT_BITS
WEIGHT_OFFSET = -WEIGHT_MIN              # W + 128 in [0, 2^8)
BIAS_OFFSET = 1 << (BIAS_BITS - 1)       # b + 2^23 in [0, 2^24)
KIND_CLAMP = 1                 # table kind ids; range kinds are 100 + bits
PROTOCOL_VERSION = b"proofboard-zkml-mlp-proof-v2"


def range_kind(bits: int) -> int:
    return 100 + bits


def limb_widths(bits: int) -> list[int]:
    widths = []
    while bits > 0:
        widths.append(min(LIMB_BITS, bits))
        bits -= LIMB_BITS
    return widths


@dataclass
class RangeCheck:
    """value + offset in [0, 2^bits): directly if bits <= 15, else through committed limbs."""
    tensor: str
    offset: int
    bits: int

    def limbs(self) -> list[tuple[str, int]]:
        ws = limb_widths(self.bits)
        if len(ws) == 1:
            return []
        return [(f"{self.tensor}.limb{j}", w) for j, w in enumerate(ws)]


@dataclass
class Lookup:
    """An entry (value, aux) of table kind `kind`; value and aux are affine in tensors."""
    value: Affine
    aux: Affine | None
    kind: int

    def encoded(self, beta: int) -> Affine:
        parts = dict(self.value.parts)
        const = self.value.const + beta * beta % P * self.kind
        if self.aux is not None:
            for n, c in self.aux.parts:
                parts[n] = (parts.get(n, 0) + beta * c) % P
            const += beta * self.aux.const
        return Affine(tuple(sorted(parts.items())), const % P)


@dataclass
class Group:
    """Tensors of one size proved together by one sumcheck."""
    name: str
    n_vars: int
    tensors: list[str]
    ranges: list[RangeCheck] = field(default_factory=list)
    clamps: list[tuple[str, str]] = field(default_factory=list)   # (Q, A)
    not_at_point: list[str] = field(default_factory=list)   # used by zero-checks only
    linear: list[tuple[list[tuple[str, int]], int]] = field(default_factory=list)  # sum c T + const = 0

    def limb_tensors(self) -> list[str]:
        return [n for rc in self.ranges for n, _ in rc.limbs()]

    def lookups(self) -> list[Lookup]:
        out = [Lookup(aff(q, const=Q_OFFSET), aff(a), KIND_CLAMP) for q, a in self.clamps]
        for rc in self.ranges:
            limbs = rc.limbs()
            if not limbs:
                out.append(Lookup(aff(rc.tensor, const=rc.offset), None, range_kind(rc.bits)))
            else:
                out += [Lookup(aff(n), None, range_kind(w)) for n, w in limbs]
        return out

    def point_tensors(self) -> list[str]:
        """The tensors claimed at the group's point (in the order their values are sent): all
        but those only zero-checks use (the beater B)."""
        return [n for n in self.tensors + self.limb_tensors() if n not in self.not_at_point]


@dataclass(frozen=True)
class Column:
    """A block of leaves of the lookup fraction tree: entries offset .. offset + 2^n_vars.
    Lookup columns hold 1 / (alpha - encoded value); the table column -mult / (alpha - T)."""
    group: str | None        # None: the table column
    lookup: int              # index into the group's lookups() (-1 for the table)
    n_vars: int
    offset: int

    def prefix_weight(self, leaf_point: list[int]) -> int:
        """eq(top coordinates of the leaf point, this block's index): the MLE weight of the
        block (its entries are indexed by the last n_vars coordinates)."""
        top = len(leaf_point) - self.n_vars
        index = self.offset >> self.n_vars
        bits = [(index >> (top - 1 - j)) & 1 for j in range(top)]
        return eq_eval(leaf_point[:top], bits)


class Circuit:
    """Sizes and public tables for one architecture and one dataset size."""

    def __init__(self, arch: dict, n_samples: int) -> None:
        self.specs = layer_specs(arch)
        self.n_samples = n_samples
        self.n_classes = int(arch["n_classes"])
        self.n_layers = len(self.specs)
        self.s_vars = log2_pow2(n_samples)
        last = self.specs[-1]
        self.input_layout = self.specs[0].inp
        self.class_vars = last.out.n_vars
        # |logit| <= 127 * 128 * d_{L-1} + 2^23 for any range-checked A, W, b: LAMBDA exceeds
        # every |logit difference| + 1, so G, H of the honest prover lie in [0, 6 bound + 5).
        # (Soundness needs no bound: see docs/protocol.md §3.)
        logit_bound = ACT_MAX * -WEIGHT_MIN * last.inp.real_size + BIAS_OFFSET
        self.big_m = 2 * logit_bound + 2
        self.margin_bits = (6 * logit_bound + 5).bit_length()
        L = self.n_layers
        self.groups: list[Group] = []
        self.model_specs: dict[str, LayerSpec] = {}      # W<i>, b<i> (and W<i>p, b<i>p) -> its spec
        for s in weighted_specs(self.specs):
            self.groups.append(Group(s.w_name, s.weight_layout().n_vars, [s.w_name],
                                     ranges=[RangeCheck(s.w_name, WEIGHT_OFFSET, WEIGHT_BITS)]))
            self.groups.append(Group(s.b_name, s.bias_layout().n_vars, [s.b_name],
                                     ranges=[RangeCheck(s.b_name, BIAS_OFFSET, BIAS_BITS)]))
            self.model_specs.update({s.w_name: s, s.b_name: s})
        for s in self.specs[:-1]:
            i, n = s.index, self.s_vars + s.out.n_vars
            if s.kind == "avgpool":
                count = s.kernel[0] * s.kernel[1]
                bits = (count - 1).bit_length()
                grp = Group(f"avg{i}", n, [f"A{i}", f"R{i}"],
                            ranges=[RangeCheck(f"A{i}", 0, ACT_BITS), RangeCheck(f"R{i}", 0, bits)])
                if count != 1 << bits:       # R < count: R and count - 1 - R both in [0, 2^bits)
                    grp.tensors.append(f"Rc{i}")
                    grp.ranges.append(RangeCheck(f"Rc{i}", 0, bits))
                    grp.linear.append(([(f"R{i}", 1), (f"Rc{i}", 1)], -(count - 1)))
                self.groups.append(grp)
                continue
            if s.kind == "maxpool":
                offsets = range(s.kernel[0] * s.kernel[1])
                self.groups.append(Group(f"pool{i}", n, [f"A{i}"] + [f"D{i}_{u}" for u in offsets],
                                         ranges=[RangeCheck(f"D{i}_{u}", 0, ACT_BITS) for u in offsets]))
                continue
            k = int(s.desc["requant"]["shift"])
            self.groups.append(Group(f"hidden{i}", n, [f"Q{i}", f"A{i}"],
                                     ranges=[RangeCheck(f"R{i}", 0, k)],
                                     clamps=[(f"Q{i}", f"A{i}")]))
            if k <= LIMB_BITS:
                self.groups[-1].tensors.append(f"R{i}")
        self.groups.append(Group("logits", self.s_vars + self.class_vars, [f"Z{L}", "B", "G"],
                                 ranges=[RangeCheck("G", 0, self.margin_bits)], not_at_point=["B"]))
        self.groups.append(Group("samples", self.s_vars, ["c", "lab", "zeta", "H"],
                                 ranges=[RangeCheck("H", 0, self.margin_bits)]))
        self.group_by_name = {g.name: g for g in self.groups}
        self._build_table()
        self._build_leaves()

    def spec(self, index: int) -> LayerSpec:
        return self.specs[index - 1]

    def output_group(self, index: int) -> str:
        """The group holding layer `index`'s output tensors (and claimed at its point)."""
        s = self.spec(index)
        if s.is_last:
            return "logits"
        return {"maxpool": f"pool{index}", "avgpool": f"avg{index}"}.get(s.kind, f"hidden{index}")

    # -- tensors -------------------------------------------------------------------
    def model_tensors(self) -> list[str]:
        return list(model_tensor_vars(self.specs))

    def witness_tensors(self) -> list[str]:
        """Committed in phase 1 of the proof (before the lookup challenges), in order."""
        model = set(self.model_tensors())
        names = []
        for g in self.groups:
            names += [n for n in g.tensors + g.limb_tensors() if n not in model]
        return names + ["mult"]

    def witness_columns(self, narrow: bool = False) -> int:
        """The column variables of every tensor the proof commits (pedersen.witness_columns;
        narrow: the rule of proof format 11 / sharded 4)."""
        return witness_columns(max(self.n_vars(name) for name in self.witness_tensors()), narrow)

    def n_vars(self, name: str) -> int:
        if name == "mult":
            return self.t_vars
        base = name.split(".")[0]
        for g in self.groups:
            if base in g.tensors or any(base == rc.tensor for rc in g.ranges):
                return g.n_vars
        raise KeyError(name)

    # -- the lookup table ------------------------------------------------------------
    def _build_table(self) -> None:
        kinds = sorted({lk.kind for g in self.groups for lk in g.lookups()})
        values, auxes, kind_ids = [], [], []
        for kind in kinds:
            if kind == KIND_CLAMP:
                t = np.arange(1 << CLAMP_BITS, dtype=np.int64)
                values.append(t)
                auxes.append(np.clip(t - Q_OFFSET, 0, ACT_MAX))
            else:
                t = np.arange(1 << (kind - 100), dtype=np.int64)
                values.append(t)
                auxes.append(np.zeros_like(t))
            kind_ids.append(np.full(len(t), kind, dtype=np.int64))
        value, aux, kind = (np.concatenate(a) for a in (values, auxes, kind_ids))
        self.t_vars = log2_pow2(len(value))
        pad = (1 << self.t_vars) - len(value)
        # Padding repeats the first entry; its multiplicity is counted on the first copy.
        self.table_value = np.concatenate([value, np.full(pad, value[0])])
        self.table_aux = np.concatenate([aux, np.full(pad, aux[0])])
        self.table_kind = np.concatenate([kind, np.full(pad, kind[0])])
        self.table_real = len(value)
        self.kind_base = {}
        start = 0
        for kind, v in zip(kinds, values):
            self.kind_base[kind] = start
            start += len(v)

    def table_encoding_eval(self, beta: int, point: list[int]) -> int:
        """T~(point) for T = value + beta aux + beta^2 kind, in one pass over the table."""
        eq = FrVec.eq_table(point)
        v, a, k = (eq.dot(FrVec.from_ints(t)) for t in (self.table_value, self.table_aux, self.table_kind))
        return (v + beta * a + beta * beta % P * k) % P

    # -- the lookup fraction tree (LogUp-GKR, docs/protocol.md §4) ------------------------------
    def _build_leaves(self) -> None:
        """Lay out every lookup column and the table column in one leaf vector: biggest
        blocks first, so every block starts at a multiple of its own size."""
        blocks = [(g.n_vars, g.name, j) for g in self.groups for j in range(len(g.lookups()))]
        blocks.append((self.t_vars, None, -1))
        order = sorted(range(len(blocks)), key=lambda i: -blocks[i][0])    # stable
        self.columns: list[Column] = []
        offset = 0
        for i in order:
            n, grp, j = blocks[i]
            self.columns.append(Column(grp, j, n, offset))
            offset += 1 << n
        self.leaf_vars = log2_pow2(offset)
        self.leaf_count = offset

    def group_leaf_point(self, group: str, leaf_point: list[int]) -> list[int]:
        """The point at which a group's tensors enter the leaf evaluation."""
        return leaf_point[len(leaf_point) - self.group_by_name[group].n_vars:]

    def table_leaf_point(self, leaf_point: list[int]) -> list[int]:
        return leaf_point[len(leaf_point) - self.t_vars:]

    def leaf_relations(self, alpha: int, beta: int, leaf_point: list[int]) -> tuple[tuple, tuple]:
        """p~(r) and q~(r) of the leaves as affine combinations of committed values.

        Returns ((p_items, p_const), (q_items, q_const)); an item is ((group, tensor), coef)
        with group "table" for mult; a group's tensors are taken at group_leaf_point.
          p~(r) = sum_lookups w_c - w_T mult~(r_T)
          q~(r) = sum_lookups w_c (alpha - enc_c~(r_g)) + w_T (alpha - T~(r_T)) + (1 - sum_all w_c)
        where w_c is the column's prefix weight and padding leaves are p = 0, q = 1.
        """
        p_items, q_items = [], []
        p_const, q_const, total_w = 0, 0, 0
        for col in self.columns:
            w = col.prefix_weight(leaf_point)
            total_w += w
            if col.group is None:
                p_items.append((("table", "mult"), (-w) % P))
                t_eval = self.table_encoding_eval(beta, self.table_leaf_point(leaf_point))
                q_const += w * (alpha - t_eval)
                continue
            enc = self.group_by_name[col.group].lookups()[col.lookup].encoded(beta)
            p_const += w
            q_const += w * (alpha - enc.const)
            q_items += [((col.group, n), (-w * c) % P) for n, c in enc.parts]
        q_const += 1 - total_w
        return (p_items, p_const % P), (_merge_items(q_items), q_const % P)

    # -- public tables ------------------------------------------------------------------
    def sample_valid(self) -> np.ndarray:
        v = np.zeros(1 << self.s_vars, dtype=np.int64)
        v[:self.n_samples] = 1
        return v

    def pad_mask(self, group: str) -> np.ndarray:
        """1 on padded entries of a model tensor or of the logits (full table, for the prover)."""
        if group[0] in "Wb":
            s = self.model_specs[group]
            return 1 - (s.weight_valid() if group[0] == "W" else s.bias_layout().valid())
        if group == "logits":
            return np.tile(1 - self.specs[-1].out.valid(), 1 << self.s_vars)
        if group == "samples":
            return 1 - self.sample_valid()
        raise KeyError(group)

    def pad_mask_eval(self, group: str, point: list[int]) -> int:
        """The verifier's evaluation of pad_mask, in time linear in the side lengths."""
        if group[0] in "Wb":
            s = self.model_specs[group]
            return (1 - (s.weight_valid_eval(point) if group[0] == "W" else s.bias_layout().valid_eval(point))) % P
        if group == "logits":
            return (1 - self.specs[-1].out.valid_eval(point[self.s_vars:])) % P
        if group == "samples":
            return (1 - mle_eval(self.sample_valid().astype(object), point)) % P
        raise KeyError(group)

    def label_tables(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Y (one-hot labels) and Lt[i, j] = [j < y_i], [Np x D_L] flattened; padding label 0."""
        npad, dpad = 1 << self.s_vars, 1 << self.class_vars
        y = np.zeros(npad, dtype=np.int64)
        y[:self.n_samples] = labels
        cols = np.arange(dpad)
        return ((cols[None, :] == y[:, None]).astype(np.int64).ravel(),
                (cols[None, :] < y[:, None]).astype(np.int64).ravel())

    def label_evals(self, labels: np.ndarray, point: list[int]) -> tuple[int, int]:
        """Y~(point), Lt~(point) in O(N + D)."""
        ei = eq_table(point[:self.s_vars])[:self.n_samples]
        ej = eq_table(point[self.s_vars:])
        prefix = np.concatenate([[0], np.cumsum(ej)]).astype(object) % P  # prefix[y] = sum_{j<y}
        y = np.asarray(labels, dtype=np.int64)
        # Padded samples have label 0: Y row = e_0, Lt row = 0.
        pad_weight = (1 - int(np.sum(ei)) % P) % P  # sum of eq over padded rows
        y_eval = (int(np.dot(ei, ej[y])) + pad_weight * int(ej[0])) % P
        lt_eval = int(np.dot(ei, prefix[y])) % P
        return y_eval, lt_eval


def padded_inputs(circuit: Circuit, x_int: np.ndarray) -> np.ndarray:
    """The quantized (public, never committed) inputs with every dimension padded (the
    first conv's factored patch table reads them so), [2^s_vars, grid size]."""
    grid = circuit.input_layout.grid
    out = np.zeros((1 << circuit.s_vars, grid.size), dtype=np.int64)
    out[:x_int.shape[0]] = grid.pad(x_int)
    return out


def input_eval(x_int: np.ndarray, row_point: list[int], col_point: list[int]) -> int:
    """X~(row_point, col_point) of the zero-padded inputs, from the unpadded [N, d] matrix:
    one limb product X eq(col) and a dot product with eq(row) (the verifier's pass over X)."""
    n, d = x_int.shape
    per_row = field_vec_times_int_matrix(eq_table(col_point)[:d], np.asarray(x_int).T)
    return int(np.dot(per_row, eq_table(row_point)[:n])) % P


def _merge_items(items: list) -> list:
    merged: dict = {}
    for ref, c in items:
        merged[ref] = (merged.get(ref, 0) + c) % P
    return list(merged.items())


def needs_zero_check(group: Group) -> bool:
    """Groups with constraints beyond ranges: padding of model tensors and logits, bits, the
    max-pooling product."""
    return group.name[0] in "Wb" or group.name in ("logits", "samples") or group.name.startswith("pool")


def zero_check_terms(group: Group, gamma: int) -> list:
    """The polynomial of a group's zero-check sumcheck (public "eq" = eq(tau, x), "pad" =
    padding), for groups where needs_zero_check:
      sum_x eq(x) sum_c gamma^c constraint_c(x)  (+ sum_x c(x) for samples)  = 0 (or K)
    The eq-weighted part vanishes iff every constraint is zero on the whole cube, except with
    probability (n + 2)/r (zero-check); its coefficients start at gamma^1 so the count term
    sum_x c(x) = K cannot absorb a violated constraint."""
    from zkml.protocols.expr import Term
    terms = []
    g = gamma
    constraints = []
    if group.name[0] in "Wb":
        constraints.append(((("eq", "pad")), (aff(group.tensors[0]),)))
    elif group.name == "logits":
        constraints.append((("eq",), (aff("B"), aff(("B", -1), const=1))))
        constraints.append((("eq", "pad"), (aff("B"),)))
    elif group.name == "samples":
        constraints.append((("eq",), (aff("c"), aff(("c", -1), const=1))))
        constraints.append((("eq", "pad"), (aff("c"),)))
        terms.append(Term(1, (), (aff("c"),)))   # sum_x c(x) = K, the claimed count
    elif group.name.startswith("pool"):
        # max-pooling: prod_u D_u = 0, so some difference D_u = A - (window value u) is zero
        # (no zero divisors mod r); with every D_u >= 0 (lookup), A is the max. Degree K + 1.
        constraints.append((("eq",), tuple(aff(n) for n in group.tensors if n.startswith("D"))))
    for public, affines in constraints:
        terms.append(Term(g, public, affines))
        g = g * gamma % P
    return terms


def linear_relations(circuit: Circuit, group: Group, pub: dict[str, int]) -> list:
    """Affine relations that must vanish at the group's point: ([(ref, coef)], const).

    ref is a tensor name (value at the group point) or ("row", name): a per-sample tensor at
    the sample part of the group point. pub holds the public tables' values at the point.
    """
    rels = list(group.linear)
    for rc in group.ranges:
        limbs = rc.limbs()
        if limbs and rc.tensor in group.tensors + circuit.model_tensors():
            items = [(rc.tensor, 1)] + [(n, -(1 << (LIMB_BITS * j))) for j, (n, _) in enumerate(limbs)]
            rels.append((items, rc.offset))
    if group.name == "logits":
        lam = circuit.big_m
        rels.append(([("G", 1), (("row", "lab"), -1), (f"Z{circuit.n_layers}", 1), (("row", "c"), lam)],
                     pub["Lt"] - lam - lam * pub["pad"]))
    elif group.name == "samples":
        lam = circuit.big_m
        rels.append(([("H", 1), ("zeta", -1), ("lab", 1), ("c", -lam)], 1 - lam * pub["pad"]))
    return [([(ref, c % P) for ref, c in items], const % P) for items, const in rels]


def pre_activation(circuit: Circuit, layer: int) -> tuple[list[tuple[str, int]], int, tuple[int, int] | None]:
    """Z_l of a hidden layer as an affine combination of its group's tensors:
    Z = m^-1 (2^k Q + R - 2^(k-1)), R being itself or the sum of its limbs. With one
    multiplier per output channel it is m ⊙ Z = 2^k Q + R - 2^(k-1) instead (the layer step
    weights its channels by m: layers/common.py, prove_channel_sum). A residual branch
    (m Z + m_s A_j + 2^(k-1) = 2^k Q + R) adds the term -m^-1 m_s A_j at the same point:
    returned as (j, coefficient); a projection shortcut (m Z + m_p ⊙ Z_p + ...) the term
    -m^-1 (m_p ⊙ Z_p) as ("proj", coefficient); else None."""
    from zkml.arith.field import inv
    spec = circuit.spec(layer)
    rq = spec.desc["requant"]
    k = int(rq["shift"])
    m_inv = 1 if spec.channel_multipliers() is not None else inv(int(rq["multiplier"]))
    rc = circuit.group_by_name[f"hidden{layer}"].ranges[0]
    r_parts = [(rc.tensor, 1)] if not rc.limbs() else \
        [(n, 1 << (LIMB_BITS * j)) for j, (n, _) in enumerate(rc.limbs())]
    items = [(f"Q{layer}", (1 << k) * m_inv % P)] + [(n, c * m_inv % P) for n, c in r_parts]
    res = rq.get("residual")
    skip = None if res is None else (int(res["from"]), (-int(res["multiplier"]) * m_inv) % P)
    if spec.proj is not None:        # the projection's m_p ⊙ Z_p enters as "proj" (layers/common.py)
        skip = ("proj", (-m_inv) % P)
    return items, (-(1 << (k - 1)) * m_inv) % P, skip
