"""Convolution: Z[n, o, i, j] = sum_{c,u,v} W[o, c, u, v] A[n, c, i s_h + u - p_t, j s_w + v - p_l]
+ b[o] on real output positions, 0 on padded ones. As a matrix product Z = P W^T + b with the
im2col patch matrix P[(n, i, j), (c, u, v)], proved in two sumchecks (the patch matrix is
never committed; cf. zkCNN, Liu et al. 2021, §4, for convolutions from the input's MLE):

1. conv<i>: at the output's point (r_n, r_o, r_i, r_j),
   Z~ - b~(r_o) V(r_i, r_j) = sum_k W~(r_o, k) P~((r_n, r_i, r_j), k)   (V: real positions)
2. conv<i>/patch: P~((r_n, r_i, r_j), (r_c, r_u, r_v)) = sum_y A~(r_n, y) M(y) over the
   per-sample input positions y = (c, h, w), with the public M = eq(r_c, c) mh(h) mw(w),
   mh(h) = sum over (i, u) reading h of eq(r_i, i) eq(r_u, u) (common.window_vector): the
   verifier evaluates M~ in O(H K + W K); the prover's table A~(r_n, .) is one limb product.
   The sumcheck ends in a claim on A at (r_n, r_y).
For the first layer A is the public input and the verifier computes P~ itself (no step 2).
"""
from __future__ import annotations

import numpy as np

from zkml.arith.curve import get_backend
from zkml.protocols.expr import Term, aff
from zkml.arith.field import P, eq_table, field_vec_times_int_matrix
from zkml.layers.common import (channel_weights, kron, prove_channel_sum, send_channel_bias, verify_channel_sum, output_commitment, output_value, prove_window_sum, split, verify_window_sum,
                     window_matrix, window_vector)
from zkml.layers.spec import Layout


def _geometry(s):
    (kh, kw), (sh, sw), (pt, pl, _, _) = s.kernel, s.stride, s.pads
    wl = s.weight_layout()
    return kh, kw, sh, sw, pt, pl, wl.vars[2], wl.vars[3]


def _points(ctx, s):
    sv = ctx.circuit.s_vars
    return split(ctx.points[ctx.circuit.output_group(s.index)], [sv] + list(s.out.vars))


def _spatial_valid(s, r_oh, r_ow) -> int:
    return Layout(s.out.real[1:], s.out.vars[1:]).valid_eval(r_oh + r_ow)


def _kernel_windows(s, r_oh, r_ow):
    """mh, mw as matrices over (offset, input position) for the output point (prover)."""
    kh, kw, sh, sw, pt, pl, khv, kwv = _geometry(s)
    (_, oh, ow), (_, h, w), (_, hv, wv) = s.out.real, s.inp.real, s.inp.vars
    return (window_matrix(eq_table(r_oh), kh, khv, oh, h, hv, sh, pt),
            window_matrix(eq_table(r_ow), kw, kwv, ow, w, wv, sw, pl))


def _kernel_vectors(s, r_oh, r_ow, r_kh, r_kw):
    """mh, mw for the output point and a kernel point: what the verifier evaluates."""
    kh, kw, sh, sw, pt, pl, _, _ = _geometry(s)
    (_, oh, ow), (_, h, w), (_, hv, wv) = s.out.real, s.inp.real, s.inp.vars
    eh, ew = eq_table(r_kh), eq_table(r_kw)
    return (window_vector(eq_table(r_oh), [int(eh[u]) for u in range(kh)], oh, h, hv, sh, pt),
            window_vector(eq_table(r_ow), [int(ew[v]) for v in range(kw)], ow, w, wv, sw, pl))


def _terms(first: bool) -> list[Term]:
    return [Term(1, ("fX",), (aff("fW"),))] if first else [Term(1, (), (aff("fP"), aff("fW")))]


def patch_table(s, a_in: np.ndarray, r_n, r_oh, r_ow) -> np.ndarray:
    """P~((r_n, r_oh, r_ow), k) for every kernel index k = (c, u, v) (padded), from the input
    activations a_in [2^s, input size]: one limb product over the samples, then the windows."""
    icp, hp, wp = s.inp.padded
    per_input = field_vec_times_int_matrix(eq_table(r_n), a_in).reshape(icp, hp, wp)
    mh, mw = _kernel_windows(s, r_oh, r_ow)
    out = np.stack([mh.dot(per_input[c]).dot(mw.T) for c in range(icp)])   # [IC, KH, KW]
    return (out % P).ravel()


def input_patch_eval(s, x_int: np.ndarray, r_n, r_oh, r_ow, point) -> int:
    """The verifier's P~ for the public input (real [N, C*H*W] integers) at a kernel point."""
    _, khv, kwv = s.weight_layout().vars[1:]
    r_c, r_kh, r_kw = split(point, [s.inp.vars[0], khv, kwv])
    mh, mw = _kernel_vectors(s, r_oh, r_ow, r_kh, r_kw)
    c, h, w = s.inp.real
    v = kron([eq_table(r_c)[:c], mh[:h], mw[:w]])
    per_row = field_vec_times_int_matrix(v, np.asarray(x_int).T)
    return int(np.dot(per_row, eq_table(r_n)[:len(x_int)])) % P


def prove(ctx, s) -> None:
    from zkml.arith.frvec import evaluate_tensor
    from zkml.protocols.sumcheck_prover import prove_sumcheck
    i = s.index
    r_n, r_oc, r_oh, r_ow = _points(ctx, s)
    z = output_value(ctx, s)
    em = channel_weights(s, r_oc)
    if em is None:
        b = ctx.claims.send_new(ctx.ch, f"b{i}", r_oc, evaluate_tensor(ctx.wit[f"b{i}"], r_oc),
                                f"conv{i}/bias", ctx.rng)
    else:
        b = send_channel_bias(ctx, s, em, f"conv{i}/bias")
    v = _spatial_valid(s, r_oh, r_ow)
    a_in = ctx.x_pad if i == 1 else ctx.wit[f"A{i - 1}"].reshape(-1, s.inp.size)
    f_p = patch_table(s, a_in, r_n, r_oh, r_ow)
    f_w = field_vec_times_int_matrix(eq_table(r_oc) if em is None else em,
                                     ctx.wit[f"W{i}"].reshape(1 << s.out.vars[0], -1))
    committed, public = ({"fW": f_w}, {"fX": f_p}) if i == 1 else ({"fP": f_p, "fW": f_w}, {})
    n_k = s.weight_layout().n_vars - s.out.vars[0]
    point, evals = prove_sumcheck(ctx.ch, n_k, _terms(i == 1), committed, public,
                                  (z[0] - v * b[0]) % P, (z[1] - v * b[1]) % P, f"conv{i}", ctx.rng)
    if em is None:
        ctx.claims.add(f"W{i}", r_oc + point, *evals["fW"])
    else:
        prove_channel_sum(ctx, s, em, point, evals["fW"], b, f"conv{i}/channels")
    if i == 1:
        return
    r_c, r_kh, r_kw = split(point, [s.inp.vars[0]] + list(s.weight_layout().vars[2:]))
    mh, mw = _kernel_vectors(s, r_oh, r_ow, r_kh, r_kw)
    prove_window_sum(ctx, f"A{i - 1}", s.inp.size, r_n, kron([eq_table(r_c), mh, mw]), evals["fP"], f"conv{i}/patch")


def verify(ctx, s) -> None:
    from zkml.protocols.sumcheck_verifier import verify_sumcheck
    be = get_backend()
    i = s.index
    r_n, r_oc, r_oh, r_ow = _points(ctx, s)
    em = channel_weights(s, r_oc)
    b_c = ctx.claim(f"b{i}", r_oc, f"conv{i}/bias") if em is None else ctx.ch.recv_point(f"conv{i}/bias")
    claim_c = be.sub(output_commitment(ctx, s), be.mul(b_c, _spatial_valid(s, r_oh, r_ow)))

    def public(name, point):
        return input_patch_eval(s, ctx.x_int, r_n, r_oh, r_ow, point)

    n_k = s.weight_layout().n_vars - s.out.vars[0]
    point, evals = verify_sumcheck(ctx.ch, n_k, _terms(i == 1), public, claim_c, f"conv{i}")
    if em is None:
        ctx.claim(f"W{i}", r_oc + point, commitment=evals["fW"])
    else:
        verify_channel_sum(ctx, s, em, point, evals["fW"], b_c, f"conv{i}/channels")
    if i == 1:
        return
    r_c, r_kh, r_kw = split(point, [s.inp.vars[0]] + list(s.weight_layout().vars[2:]))
    mh, mw = _kernel_vectors(s, r_oh, r_ow, r_kh, r_kw)
    verify_window_sum(ctx, f"A{i - 1}", s.inp, r_n, [r_c, mh, mw], evals["fP"], f"conv{i}/patch")
