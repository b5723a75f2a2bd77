"""Average pooling (and global average pooling), exactly in integers with a proven remainder:
  K A + R = S + floor(K / 2),   S = sum of the window of A_in (zeros outside the input),
  A in [0, 2^7), R in [0, K)    (lookups; for K not a power of two R and K - 1 - R are both
                                  range-checked and tied by a linear relation)
so A = floor((S + floor(K/2)) / K) as integers: every term is below 2^20, far from r.
The relation is checked at the group's point r = (r_n, r_c, r_i, r_j):
  K A~(r) + R~(r) - floor(K/2) = sum_y A_in~(r_n, y) M(y),  M = eq(r_c, c) ph(h) pw(w)
with ph(h) = sum over (i, u) reading h of eq(r_i, i) (common.window_vector, unit weights).
Padded outputs read nothing: there A = 0 and R = floor(K/2)."""
from __future__ import annotations

import numpy as np

from zkml.arith.field import P, eq_table
from zkml.layers.common import kron, prove_window_sum, split, verify_window_sum, window_vector


def count(s) -> int:
    return s.kernel[0] * s.kernel[1]


def witness(s, a_in: np.ndarray) -> dict[str, np.ndarray]:
    """A, R (and K - 1 - R) on the padded layout, from the padded input [2^s, in size]."""
    n = len(a_in)
    (c_p, h_p, w_p), (_, h, w) = s.inp.padded, s.inp.real
    (_, oh_p, ow_p), (_, oh, ow) = s.out.padded, s.out.real
    (kh, kw), (sh, sw), (pt, pl, _, _) = s.kernel, s.stride, s.pads
    a_in = a_in.reshape(n, c_p, h_p, w_p)
    sums = np.zeros((n, c_p, oh_p, ow_p), dtype=np.int64)
    for du in range(kh):
        for dv in range(kw):
            rows = [(i, i * sh + du - pt) for i in range(oh) if 0 <= i * sh + du - pt < h]
            cols = [(j, j * sw + dv - pl) for j in range(ow) if 0 <= j * sw + dv - pl < w]
            if rows and cols:
                (oi, ii), (oj, ij) = zip(*rows), zip(*cols)
                sums[:, :, np.array(oi)[:, None], np.array(oj)[None, :]] += \
                    a_in[:, :, np.array(ii)[:, None], np.array(ij)[None, :]]
    k = count(s)
    t = sums + k // 2
    out = {f"A{s.index}": (t // k).ravel(), f"R{s.index}": (t % k).ravel()}
    if k & (k - 1):
        out[f"Rc{s.index}"] = (k - 1 - t % k).ravel()
    return out


def _claim_items(s) -> tuple[list[tuple[str, int]], int]:
    return [(f"A{s.index}", count(s)), (f"R{s.index}", 1)], (-(count(s) // 2)) % P


def _public(ctx, s):
    r_n, r_c, r_i, r_j = split(ctx.points[f"avg{s.index}"], [ctx.circuit.s_vars] + list(s.out.vars))
    (kh, kw), (sh, sw), (pt, pl, _, _) = s.kernel, s.stride, s.pads
    (_, oh, ow), (_, h, w), (_, hv, wv) = s.out.real, s.inp.real, s.inp.vars
    return (r_n, r_c, window_vector(eq_table(r_i), [1] * kh, oh, h, hv, sh, pt),
            window_vector(eq_table(r_j), [1] * kw, ow, w, wv, sw, pl))


def prove(ctx, s) -> None:
    vals = ctx.values[f"avg{s.index}"]
    items, const = _claim_items(s)
    claim = (sum(c * vals[n][0] for n, c in items) + const) % P
    blind = sum(c * vals[n][1] for n, c in items) % P
    r_n, r_c, ph, pw = _public(ctx, s)
    prove_window_sum(ctx, f"A{s.index - 1}", s.inp.size, r_n, kron([eq_table(r_c), ph, pw]), (claim, blind),
                     f"avg{s.index}")


def verify(ctx, s) -> None:
    from zkml.commitments import pedersen
    from zkml.arith.curve import get_backend
    vals = ctx.values[f"avg{s.index}"]
    items, const = _claim_items(s)
    claim_c = get_backend().msm([pedersen.g()] + [vals[n] for n, _ in items], [const] + [c for _, c in items])
    r_n, r_c, ph, pw = _public(ctx, s)
    verify_window_sum(ctx, f"A{s.index - 1}", s.inp, r_n, [r_c, ph, pw], claim_c, f"avg{s.index}")
