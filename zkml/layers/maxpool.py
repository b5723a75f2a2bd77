"""Max-pooling over non-negative activations. Committed: the output A, for every window
offset u a difference D_u and a selector bit S_u. Relations:
  D_u = A - window_u(A_in)          (window_u reads A_in at i s + u_h - p_t, j s + u_w - p_l;
                                      0 outside the input and on padded outputs)
  D_u in [0, 2^7)                   (lookup: A is at least every value of its window)
  S_u bits, sum_u S_u = 1, sum_u S_u D_u = 0   (zero-check: A equals one value of the window)
The first is checked at the pool group's point r = (r_n, r_c, r_i, r_j) for all u at once with
a challenge rho:
  sum_u rho^u (A~(r) - D_u~(r)) = sum_y A_in~(r_n, y) M(y),   M = eq(r_c, c) ph(h) pw(w)
with ph(h) = sum over (i, u_h) reading h of eq(r_i, i) rho^(K_w u_h), pw likewise with rho^(u_w):
one sumcheck (pool<i>) over the per-sample input positions y, M~ evaluated by the verifier in
O(H K + W K); it ends in a claim on A_in at (r_n, r_y).
Padded output positions read nothing, so there A = D_u = 0. Offsets outside the input read 0,
which never exceeds the true maximum because activations are >= 0."""
from __future__ import annotations

import numpy as np

from zkml.errors import ZkmlError
from zkml.arith.field import P, eq_table
from zkml.layers.common import kron, prove_window_sum, split, verify_window_sum, window_vector


def offsets(s) -> list[tuple[int, int]]:
    kh, kw = s.kernel
    return [(u, v) for u in range(kh) for v in range(kw)]


def witness(s, a_in: np.ndarray, a_out: np.ndarray) -> dict[str, np.ndarray]:
    """D_u and S_u from the padded input [2^s, in size] and the padded output [2^s, out size]."""
    n = len(a_in)
    (c_p, h_p, w_p), (_, h, w) = s.inp.padded, s.inp.real
    (_, oh_p, ow_p), (_, oh, ow) = s.out.padded, s.out.real
    (sh, sw), (pt, pl, _, _) = s.stride, s.pads
    a_in = a_in.reshape(n, c_p, h_p, w_p)
    y = a_out.reshape(n, c_p, oh_p, ow_p)
    out = {f"A{s.index}": y.ravel()}
    diffs = []
    for u, (du, dv) in enumerate(offsets(s)):
        window = np.zeros_like(y)
        rows = [(i, i * sh + du - pt) for i in range(oh) if 0 <= i * sh + du - pt < h]
        cols = [(j, j * sw + dv - pl) for j in range(ow) if 0 <= j * sw + dv - pl < w]
        if rows and cols:
            (oi, ii), (oj, ij) = zip(*rows), zip(*cols)
            window[:, :, np.array(oi)[:, None], np.array(oj)[None, :]] = \
                a_in[:, :, np.array(ii)[:, None], np.array(ij)[None, :]]
        d = y - window
        if d.min() < 0 or d.max() >= 1 << 7:
            raise ZkmlError(f"layer {s.index}: max-pooling witness out of range")
        diffs.append(d)
        out[f"D{s.index}_{u}"] = d.ravel()
    first_zero = np.argmax(np.stack(diffs) == 0, axis=0)
    for u in range(len(diffs)):
        out[f"S{s.index}_{u}"] = (first_zero == u).astype(np.int64).ravel()
    return out


def _weights(s, rho: int) -> tuple[list[int], list[int]]:
    kh, kw = s.kernel
    return [pow(rho, kw * u, P) for u in range(kh)], [pow(rho, v, P) for v in range(kw)]


def _public(ctx, s, rho):
    sv = ctx.circuit.s_vars
    r_n, r_c, r_i, r_j = split(ctx.points[f"pool{s.index}"], [sv] + list(s.out.vars))
    wh, ww = _weights(s, rho)
    (sh, sw), (pt, pl, _, _) = s.stride, s.pads
    (_, oh, ow), (_, h, w), (_, hv, wv) = s.out.real, s.inp.real, s.inp.vars
    ph = window_vector(eq_table(r_i), wh, oh, h, hv, sh, pt)
    pw = window_vector(eq_table(r_j), ww, ow, w, wv, sw, pl)
    return r_n, r_c, ph, pw


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
    r_n, r_c, ph, pw = _public(ctx, s, rho)
    prove_window_sum(ctx, f"A{s.index - 1}", s.inp.size, r_n, kron([eq_table(r_c), ph, pw]), (claim, blind),
                     f"pool{s.index}")


def verify(ctx, s) -> None:
    from zkml.arith.curve import get_backend
    rho = ctx.ch.challenge(f"pool{s.index}/rho")
    vals = ctx.values[f"pool{s.index}"]
    items = _claim_items(s, rho)
    claim_c = get_backend().msm([vals[n] for n, _ in items], [c for _, c in items])
    r_n, r_c, ph, pw = _public(ctx, s, rho)
    verify_window_sum(ctx, f"A{s.index - 1}", s.inp, r_n, [r_c, ph, pw], claim_c, f"pool{s.index}")
