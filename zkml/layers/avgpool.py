"""Average pooling (and global average pooling), exactly in integers with a proven remainder:
  K A + R = S + floor(K / 2),   S = sum of the window of A_in (zeros outside the input),
  A in [0, 2^7), R in [0, K)    (lookups; for K not a power of two R and K - 1 - R are both
                                  range-checked and tied by a linear relation)
so A = floor((S + floor(K/2)) / K) as integers: every term is below 2^20, far from r.
All tensors use the joint per-sample index. The relation is checked at the group's point
r = (r_n, r_out):
  K A~(r) + R~(r) - floor(K/2) = sum_y A_in~(r_n, y) M(y),
  M(c, h, w) = sum over outputs (i, j) whose window reads (h, w) of eq(r_out, joint(c, i, j))
(common.window_table with unit weights; the verifier builds it in O(C OH OW K)).
Padded outputs read nothing: there A = 0 and R = floor(K/2)."""
from __future__ import annotations

import numpy as np

from zkml.arith.field import P, eq_table
from zkml.layers.common import prove_window_sum, split, verify_window_sum, window_table


def count(s) -> int:
    return s.kernel[0] * s.kernel[1]


def witness(s, a_in: np.ndarray) -> dict[str, np.ndarray]:
    """A, R (and K - 1 - R) in the joint layout, from the input [2^s, in size] (joint
    layout). Padded outputs read nothing: A = 0, R = floor(K/2) there."""
    n = len(a_in)
    (_, h, w), (_, oh, ow) = s.inp.real, s.out.real
    (kh, kw), (sh, sw), (pt, pl, _, _) = s.kernel, s.stride, s.pads
    a_in = s.inp.real_part(a_in)
    sums = np.zeros((n,) + s.out.real, dtype=np.int64)
    for du in range(kh):
        for dv in range(kw):
            rows = [(i, i * sh + du - pt) for i in range(oh) if 0 <= i * sh + du - pt < h]
            cols = [(j, j * sw + dv - pl) for j in range(ow) if 0 <= j * sw + dv - pl < w]
            if rows and cols:
                (oi, ii), (oj, ij) = zip(*rows), zip(*cols)
                sums[:, :, np.array(oi)[:, None], np.array(oj)[None, :]] += \
                    a_in[:, :, np.array(ii)[:, None], np.array(ij)[None, :]]
    k = count(s)
    t = s.out.pad(sums) + k // 2
    out = {f"A{s.index}": (t // k).ravel(), f"R{s.index}": (t % k).ravel()}
    if k & (k - 1):
        out[f"Rc{s.index}"] = (k - 1 - t % k).ravel()
    return out


def _claim_items(s) -> tuple[list[tuple[str, int]], int]:
    return [(f"A{s.index}", count(s)), (f"R{s.index}", 1)], (-(count(s) // 2)) % P


def _public(ctx, s) -> tuple[list[int], np.ndarray]:
    """r_n and the window table M over the joint input index."""
    r_n, r_out = split(ctx.points[f"avg{s.index}"], [ctx.circuit.s_vars, s.out.n_vars])
    (kh, kw) = s.kernel
    return r_n, window_table(s, eq_table(r_out)[:s.out.real_size], [1] * kh, [1] * kw)


def prove(ctx, s) -> None:
    vals = ctx.values[f"avg{s.index}"]
    items, const = _claim_items(s)
    claim = (sum(c * vals[n][0] for n, c in items) + const) % P
    blind = sum(c * vals[n][1] for n, c in items) % P
    r_n, m = _public(ctx, s)
    prove_window_sum(ctx, f"A{s.index - 1}", s.inp.size, r_n, m, (claim, blind), f"avg{s.index}")


def verify(ctx, s) -> None:
    from zkml.commitments import pedersen
    from zkml.arith.curve import get_backend
    vals = ctx.values[f"avg{s.index}"]
    items, const = _claim_items(s)
    claim_c = get_backend().msm([pedersen.g()] + [vals[n] for n, _ in items], [const] + [c for _, c in items])
    r_n, m = _public(ctx, s)
    verify_window_sum(ctx, f"A{s.index - 1}", s.inp.n_vars, r_n, m, claim_c, f"avg{s.index}")
