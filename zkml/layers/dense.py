"""Dense layer: Z = A W^T + b, proved by Thaler's matrix-multiplication sumcheck (2013):
at the output's point (r_i, r_j), Z~(r_i, r_j) - b~(r_j) = sum_k A~(r_i, k) W~(r_j, k).
k runs over the input's grid layout (every dimension padded), which W's columns follow (so
a model's commitment does not depend on how activations are committed). After a conv or
pooling layer whose joint layout differs from its grid, the claim on A's grid layout at
(r_i, r_k) is moved to the committed, jointly indexed A by one window sum (matmul<l>/joint):
A_grid~(r_i, r_k) = sum_y A~(r_i, y) E(y), E(y) = eq(r_k, grid position of y) on real y."""
from __future__ import annotations

from zkml.circuit import input_eval
from zkml.arith.curve import get_backend
from zkml.protocols.expr import Term, aff
from zkml.arith.field import P, eq_table, field_vec_times_int_matrix
from zkml.layers.common import (channel_weights, output_commitment, output_value, prove_channel_sum, prove_window_sum,
                                send_channel_bias, verify_channel_sum, verify_window_sum)


def _terms(first: bool) -> list[Term]:
    # the first layer's input is public: the verifier evaluates X~ itself
    return [Term(1, ("fX",), (aff("fW"),))] if first else [Term(1, (), (aff("fA"), aff("fW")))]


def prove(ctx, s) -> None:
    from zkml.protocols.sumcheck_prover import prove_sumcheck
    i, sv = s.index, ctx.circuit.s_vars
    pt = ctx.points[ctx.circuit.output_group(i)]
    r_i, r_j = pt[:sv], pt[sv:]
    assert r_j == ctx.points[f"b{i}"]       # both are the last out-variables of the leaf point
    z, b = output_value(ctx, s), ctx.values[f"b{i}"][f"b{i}"]
    em = channel_weights(s, r_j)
    if em is not None:
        b = send_channel_bias(ctx, s, em, f"matmul{i}/bias")
    a_prev = ctx.x_pad if i == 1 else ctx.wit[f"A{i - 1}"].reshape(-1, s.inp.size)
    f_a = field_vec_times_int_matrix(eq_table(r_i), a_prev)
    if i > 1 and not s.inp.same_as_grid():
        f_a = s.inp.to_grid(f_a)
    f_w = field_vec_times_int_matrix(eq_table(r_j) if em is None else em,
                                     ctx.wit[f"W{i}"].reshape(-1, s.inp.grid.size))
    committed, public = ({"fW": f_w}, {"fX": f_a}) if i == 1 else ({"fA": f_a, "fW": f_w}, {})
    point, evals = prove_sumcheck(ctx.ch, s.inp.grid.n_vars, _terms(i == 1), committed, public,
                                  (z[0] - b[0]) % P, (z[1] - b[1]) % P, f"matmul{i}", ctx.rng)
    if em is None:
        ctx.claims.add(f"W{i}", r_j + point, *evals["fW"])
    else:
        prove_channel_sum(ctx, s, em, point, evals["fW"], b, f"matmul{i}/channels")
    if i > 1 and s.inp.same_as_grid():
        ctx.claims.add(f"A{i - 1}", r_i + point, *evals["fA"])
    elif i > 1:
        prove_window_sum(ctx, f"A{i - 1}", s.inp.size, r_i, s.inp.reindex_table(point), evals["fA"],
                         f"matmul{i}/joint")


def verify(ctx, s) -> None:
    from zkml.protocols.sumcheck_verifier import verify_sumcheck
    i, sv = s.index, ctx.circuit.s_vars
    pt = ctx.points[ctx.circuit.output_group(i)]
    r_i, r_j = pt[:sv], pt[sv:]
    em = channel_weights(s, r_j)
    b_c = ctx.values[f"b{i}"][f"b{i}"] if em is None else ctx.ch.recv_point(f"matmul{i}/bias")
    claim_c = get_backend().sub(output_commitment(ctx, s), b_c)

    def public(name, point):
        return input_eval(ctx.x_int, r_i, point)

    point, evals = verify_sumcheck(ctx.ch, s.inp.grid.n_vars, _terms(i == 1), public, claim_c, f"matmul{i}")
    if em is None:
        ctx.claim(f"W{i}", r_j + point, commitment=evals["fW"])
    else:
        verify_channel_sum(ctx, s, em, point, evals["fW"], b_c, f"matmul{i}/channels")
    if i > 1 and s.inp.same_as_grid():
        ctx.claim(f"A{i - 1}", r_i + point, commitment=evals["fA"])
    elif i > 1:
        verify_window_sum(ctx, f"A{i - 1}", s.inp.n_vars, r_i, s.inp.reindex_table(point), evals["fA"],
                          f"matmul{i}/joint")
