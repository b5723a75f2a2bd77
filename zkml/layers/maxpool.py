"""Max-pooling over non-negative activations. Committed: the output A, for every window
offset u a difference D_u (no selector bits). Relations:
  D_u = A - window_u(A_in)          (window_u reads A_in at i s + u_h - p_t, j s + u_w - p_l;
                                      0 outside the input and on padded outputs)
  D_u in [0, 2^7)                   (lookup: A is at least every value of its window)
  prod_u D_u = 0                    (zero-check of degree K + 1: A equals one value of the window)
All tensors use the joint per-sample index. The first relation is checked at the pool
group's point r = (r_n, r_out) for all u at once with a challenge rho:
  sum_u rho^u (A~(r) - D_u~(r)) = sum_y A_in~(r_n, y) M(y),
  M(c, h, w) = sum over outputs (i, j) and offsets u = (u_h, u_w) reading (h, w) of
               eq(r_out, joint(c, i, j)) rho^(K_w u_h + u_w)
one sumcheck (pool<i>) over the joint input index y; the verifier builds M in O(C OH OW K)
(common.window_table); it ends in a claim on A_in at (r_n, r_y).
Padded output positions read nothing, so there A = D_u = 0. Offsets outside the input read 0,
which never exceeds the true maximum because activations are >= 0."""
from __future__ import annotations

import numpy as np

from zkml.errors import ZkmlError
from zkml.arith.field import P, eq_table
from zkml.layers.common import prove_window_sum, split, verify_window_sum, window_table


def offsets(s) -> list[tuple[int, int]]:
    kh, kw = s.kernel
    return [(u, v) for u in range(kh) for v in range(kw)]


def witness(s, a_in: np.ndarray, a_out: np.ndarray) -> dict[str, np.ndarray]:
    """A and the D_u (joint layout) from the input [2^s, in size] (joint layout) and the real
    output [2^s, C, OH, OW]. On padded outputs every D_u is 0."""
    (_, h, w), (_, oh, ow) = s.inp.real, s.out.real
    (sh, sw), (pt, pl, _, _) = s.stride, s.pads
    a_in = s.inp.real_part(a_in)
    y = np.asarray(a_out).reshape((len(a_in),) + s.out.real)
    out = {f"A{s.index}": s.out.pad(y).ravel()}
    for u, (du, dv) in enumerate(offsets(s)):
        window = np.zeros_like(y)
        rows = [(i, i * sh + du - pt) for i in range(oh) if 0 <= i * sh + du - pt < h]
        cols = [(j, j * sw + dv - pl) for j in range(ow) if 0 <= j * sw + dv - pl < w]
        if rows and cols:
            (oi, ii), (oj, ij) = zip(*rows), zip(*cols)
            window[:, :, np.array(oi)[:, None], np.array(oj)[None, :]] = \
                a_in[:, :, np.array(ii)[:, None], np.array(ij)[None, :]]
        d = s.out.pad(y - window)
        if d.min() < 0 or d.max() >= 1 << 7:
            raise ZkmlError(f"layer {s.index}: max-pooling witness out of range")
        out[f"D{s.index}_{u}"] = d.ravel()
    return out


def _weights(s, rho: int) -> tuple[list[int], list[int]]:
    kh, kw = s.kernel
    return [pow(rho, kw * u, P) for u in range(kh)], [pow(rho, v, P) for v in range(kw)]


def _public(ctx, s, rho) -> tuple[list[int], np.ndarray]:
    """r_n and the window table M over the joint input index."""
    r_n, r_out = split(ctx.points[f"pool{s.index}"], [ctx.circuit.s_vars, s.out.n_vars])
    return r_n, window_table(s, eq_table(r_out)[:s.out.real_size], *_weights(s, rho))


def _claim_items(s, rho):
    """sum_u rho^u (A - D_u) as (tensor, coefficient) items."""
    i, n_u = s.index, len(offsets(s))
    return [(f"A{i}", sum(pow(rho, u, P) for u in range(n_u)) % P)] + \
        [(f"D{i}_{u}", (-pow(rho, u, P)) % P) for u in range(n_u)]


def prove(ctx, s) -> None:
    rho = ctx.ch.challenge(f"pool{s.index}/rho")
    vals = ctx.values[f"pool{s.index}"]
    items = _claim_items(s, rho)
    claim = sum(c * vals[n][0] for n, c in items) % P
    blind = sum(c * vals[n][1] for n, c in items) % P
    r_n, m = _public(ctx, s, rho)
    prove_window_sum(ctx, f"A{s.index - 1}", s.inp.size, r_n, m, (claim, blind), f"pool{s.index}")


def verify(ctx, s) -> None:
    from zkml.arith.curve import get_backend
    rho = ctx.ch.challenge(f"pool{s.index}/rho")
    vals = ctx.values[f"pool{s.index}"]
    items = _claim_items(s, rho)
    claim_c = get_backend().msm([vals[n] for n, _ in items], [c for _, c in items])
    r_n, m = _public(ctx, s, rho)
    verify_window_sum(ctx, f"A{s.index - 1}", s.inp.n_vars, r_n, m, claim_c, f"pool{s.index}")
