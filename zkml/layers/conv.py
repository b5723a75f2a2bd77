"""Convolution: Z[n, o, i, j] = sum_{c,u,v} W[o, c, u, v] A[n, c, i s_h + u - p_t, j s_w + v - p_l]
+ b[o] on real output positions. As a matrix product Z = P W^T + b with the im2col patch
matrix P[(n, i, j), (c, u, v)], proved in sumchecks (the patch matrix is never committed;
cf. zkCNN, Liu et al. 2021, §4, for convolutions from the input's MLE). Activations are
committed with one joint per-sample index (layers/spec.py, Layout); the convolution's own
sumchecks run on the output grid (every dimension padded), so:

0. conv<i>/joint (only when the two layouts differ): the claim on Z~ at the group's point
   (r_n, r_out) over the joint index becomes a claim on Z's grid layout at a random grid
   point (r_n, r_o, r_i, r_j) (common.prove_regrid: one degree-2 sumcheck with the public
   E(o, i, j) = eq(r_out, joint(o, i, j))).
1. conv<i>: Z_grid~ - b~(r_o) V(r_i, r_j) = sum_k W~(r_o, k) P~((r_n, r_i, r_j), k)
   (V: real output positions).
2. conv<i>/patch: P~((r_n, r_i, r_j), (r_c, r_u, r_v)) = sum_y A~(r_n, y) M(y) over the joint
   input index y = (c, h, w), with the public M = eq(r_c, c) mh(h) mw(w) on real positions
   and 0 on the padding, mh(h) = sum over (i, u) reading h of eq(r_i, i) eq(r_u, u)
   (common.window_vector): the verifier builds M in O(C H W); the prover's table A~(r_n, .)
   is one limb product. The sumcheck ends in a claim on A at (r_n, r_y).
For the first layer A is the public input and the verifier computes P~ itself (no step 2).
A projection shortcut (layers/spec.py, LayerSpec.proj) is the same convolution under its own
labels proj<i>/...: a 1x1 kernel with stride on A_j, weights W<i>p, b<i>p, per-channel
multipliers m_p, proved from the committed value of (m_p ⊙ Z_p)~ at the layer's point
(prove_conv / verify_conv, called by common.output_value / output_commitment).
"""
from __future__ import annotations

import numpy as np

from zkml.arith.curve import get_backend
from zkml.circuit import pre_activation
from zkml.protocols.expr import Term, aff
from zkml.arith.field import P, eq_table, field_vec_times_int_matrix
from zkml.layers.common import (channel_weights, joint_table, kron, output_commitment, output_value,
                                prove_channel_sum, prove_regrid, prove_window_sum, send_channel_bias, split,
                                verify_channel_sum, verify_regrid, verify_window_sum, window_matrix,
                                window_vector)
from zkml.layers.spec import Grid


def _geometry(s):
    (kh, kw), (sh, sw), (pt, pl, _, _) = s.kernel, s.stride, s.pads
    wl = s.weight_layout()
    return kh, kw, sh, sw, pt, pl, wl.vars[2], wl.vars[3]


def _points(ctx, s) -> tuple[list[int], list[int]]:
    """(r_n, r_out): the output group's point, samples and joint output index."""
    return split(ctx.points[ctx.circuit.output_group(s.index)], [ctx.circuit.s_vars, s.out.n_vars])


def _spatial_valid(s, r_oh, r_ow) -> int:
    return Grid(s.out.real[1:], s.out.grid.vars[1:]).valid_eval(r_oh + r_ow)


def _kernel_windows(s, r_oh, r_ow):
    """mh, mw as matrices over (offset, input position) for the output point (prover)."""
    kh, kw, sh, sw, pt, pl, khv, kwv = _geometry(s)
    (_, oh, ow), (_, h, w), (_, hv, wv) = s.out.real, s.inp.real, s.inp.grid.vars
    return (window_matrix(eq_table(r_oh), kh, khv, oh, h, hv, sh, pt),
            window_matrix(eq_table(r_ow), kw, kwv, ow, w, wv, sw, pl))


def _kernel_vectors(s, r_oh, r_ow, r_kh, r_kw):
    """mh, mw for the output point and a kernel point: what the verifier evaluates."""
    kh, kw, sh, sw, pt, pl, _, _ = _geometry(s)
    (_, oh, ow), (_, h, w), (_, hv, wv) = s.out.real, s.inp.real, s.inp.grid.vars
    eh, ew = eq_table(r_kh), eq_table(r_kw)
    return (window_vector(eq_table(r_oh), [int(eh[u]) for u in range(kh)], oh, h, hv, sh, pt),
            window_vector(eq_table(r_ow), [int(ew[v]) for v in range(kw)], ow, w, wv, sw, pl))


def _patch_input_table(s, r_c, mh, mw) -> np.ndarray:
    """M = eq(r_c, c) mh(h) mw(w) over the joint input index (0 on the padding)."""
    c, h, w = s.inp.real
    return joint_table(s.inp, kron([eq_table(r_c)[:c], mh[:h], mw[:w]]))


def _terms(first: bool) -> list[Term]:
    return [Term(1, ("fX",), (aff("fW"),))] if first else [Term(1, (), (aff("fP"), aff("fW")))]


def patch_table(s, per_input: np.ndarray, r_oh, r_ow) -> np.ndarray:
    """P~((r_n, r_oh, r_ow), k) for every kernel index k = (c, u, v) (padded), from the
    eq(r_n)-weighted input on the input grid [IC, H, W] (padded)."""
    mh, mw = _kernel_windows(s, r_oh, r_ow)
    out = np.stack([mh.dot(per_input[c]).dot(mw.T) for c in range(len(per_input))])   # [IC, KH, KW]
    return (out % P).ravel()


def _weighted_input(ctx, s, r_n) -> np.ndarray:
    """sum_n eq(r_n, n) A_in[n] on the input grid [IC, H, W] (padded), from the public
    input (first layer, already on the grid) or the jointly indexed committed activations."""
    if s.in_name is None:
        v = field_vec_times_int_matrix(eq_table(r_n), ctx.x_pad)
    else:
        v = s.inp.to_grid(field_vec_times_int_matrix(eq_table(r_n), ctx.wit[s.in_name].reshape(-1, s.inp.size)))
    return np.asarray(v, dtype=object).reshape(s.inp.grid.padded)


def _grid_output(ctx, s, r_n) -> np.ndarray:
    """The vector the output claim is on (Z, or m ⊙ Z with per-channel multipliers) at r_n,
    on the output grid, from the committed Q, R (and a residual branch's A_j, or the
    projection's m_p ⊙ Z_p); for a projection spec its m_p ⊙ Z_p: the re-indexing sumcheck's
    table (prover)."""
    if s.tag:
        items, const = [(f"P{s.index}", 1)], 0
    else:
        items, const, skip = pre_activation(ctx.circuit, s.index)
        if skip is not None:
            name = f"P{s.index}" if skip[0] == "proj" else f"A{skip[0]}"
            items = items + [(name, skip[1])]
    eq, real = eq_table(r_n), s.out.real_size
    acc = np.full(real, const, dtype=object)
    for name, c in items:
        rows = ctx.wit[name].reshape(-1, s.out.size)[:, :real]
        acc = (acc + c * np.asarray(field_vec_times_int_matrix(eq, rows), dtype=object)) % P
    return s.out.to_grid(acc)


def input_patch_eval(s, x_int: np.ndarray, r_n, r_oh, r_ow, point) -> int:
    """The verifier's P~ for the public input (real [N, C*H*W] integers) at a kernel point."""
    _, khv, kwv = s.weight_layout().vars[1:]
    r_c, r_kh, r_kw = split(point, [s.inp.grid.vars[0], khv, kwv])
    mh, mw = _kernel_vectors(s, r_oh, r_ow, r_kh, r_kw)
    c, h, w = s.inp.real
    v = kron([eq_table(r_c)[:c], mh[:h], mw[:w]])
    per_row = field_vec_times_int_matrix(v, np.asarray(x_int).T)
    return int(np.dot(per_row, eq_table(r_n)[:len(x_int)])) % P


def prove(ctx, s) -> None:
    r_n, r_out = _points(ctx, s)
    prove_conv(ctx, s, r_n, r_out, output_value(ctx, s))


def prove_conv(ctx, s, r_n: list[int], r_out: list[int], z: tuple[int, int]) -> None:
    """The steps from the claim z (value, blind) on the output at (r_n, r_out): the layer's
    own, or a projection spec's with z = (m_p ⊙ Z_p)~ committed by common.output_value."""
    from zkml.arith.frvec import evaluate_tensor
    from zkml.protocols.sumcheck_prover import prove_sumcheck
    lab, first = s.label, s.in_name is None
    r_grid = r_out
    if not s.out.same_as_grid():
        r_grid, z = prove_regrid(ctx, s.out, _grid_output(ctx, s, r_n), r_out, z, f"{lab}/joint")
    r_oc, r_oh, r_ow = split(r_grid, list(s.out.grid.vars))
    em = channel_weights(s, r_oc)
    if em is None:
        b = ctx.claims.send_new(ctx.ch, s.b_name, r_oc, evaluate_tensor(ctx.wit[s.b_name], r_oc),
                                f"{lab}/bias", ctx.rng)
    else:
        b = send_channel_bias(ctx, s, em, f"{lab}/bias")
    v = _spatial_valid(s, r_oh, r_ow)
    f_p = patch_table(s, _weighted_input(ctx, s, r_n), r_oh, r_ow)
    f_w = field_vec_times_int_matrix(eq_table(r_oc) if em is None else em,
                                     ctx.wit[s.w_name].reshape(1 << s.out.grid.vars[0], -1))
    committed, public = ({"fW": f_w}, {"fX": f_p}) if first else ({"fP": f_p, "fW": f_w}, {})
    n_k = s.weight_layout().n_vars - s.out.grid.vars[0]
    point, evals = prove_sumcheck(ctx.ch, n_k, _terms(first), committed, public,
                                  (z[0] - v * b[0]) % P, (z[1] - v * b[1]) % P, lab, ctx.rng)
    if em is None:
        ctx.claims.add(s.w_name, r_oc + point, *evals["fW"])
    else:
        prove_channel_sum(ctx, s, em, point, evals["fW"], b, f"{lab}/channels")
    if first:
        return
    r_c, r_kh, r_kw = split(point, [s.inp.grid.vars[0]] + list(s.weight_layout().vars[2:]))
    mh, mw = _kernel_vectors(s, r_oh, r_ow, r_kh, r_kw)
    prove_window_sum(ctx, s.in_name, s.inp.size, r_n, _patch_input_table(s, r_c, mh, mw), evals["fP"],
                     f"{lab}/patch")


def verify(ctx, s) -> None:
    r_n, r_out = _points(ctx, s)
    verify_conv(ctx, s, r_n, r_out, output_commitment(ctx, s))


def verify_conv(ctx, s, r_n: list[int], r_out: list[int], z_c) -> None:
    """The verifier's side of prove_conv (z_c: the claim's commitment)."""
    from zkml.protocols.sumcheck_verifier import verify_sumcheck
    be = get_backend()
    lab, first = s.label, s.in_name is None
    r_grid = r_out
    if not s.out.same_as_grid():
        r_grid, z_c = verify_regrid(ctx, s.out, r_out, z_c, f"{lab}/joint")
    r_oc, r_oh, r_ow = split(r_grid, list(s.out.grid.vars))
    em = channel_weights(s, r_oc)
    b_c = ctx.claim(s.b_name, r_oc, f"{lab}/bias") if em is None else ctx.ch.recv_point(f"{lab}/bias")
    claim_c = be.sub(z_c, be.mul(b_c, _spatial_valid(s, r_oh, r_ow)))

    def public(name, point):
        return input_patch_eval(s, ctx.x_int, r_n, r_oh, r_ow, point)

    n_k = s.weight_layout().n_vars - s.out.grid.vars[0]
    point, evals = verify_sumcheck(ctx.ch, n_k, _terms(first), public, claim_c, lab)
    if em is None:
        ctx.claim(s.w_name, r_oc + point, commitment=evals["fW"])
    else:
        verify_channel_sum(ctx, s, em, point, evals["fW"], b_c, f"{lab}/channels")
    if first:
        return
    r_c, r_kh, r_kw = split(point, [s.inp.grid.vars[0]] + list(s.weight_layout().vars[2:]))
    mh, mw = _kernel_vectors(s, r_oh, r_ow, r_kh, r_kw)
    verify_window_sum(ctx, s.in_name, s.inp.n_vars, r_n, _patch_input_table(s, r_c, mh, mw), evals["fP"],
                      f"{lab}/patch")
