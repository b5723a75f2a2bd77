"""Pieces the layer steps share: the claim on a weighted layer's output, splitting group
points into per-dimension coordinates, Kronecker products of public vectors, window sums over
an input's joint index, and re-indexing a claim from the joint layout to the grid."""
from __future__ import annotations

import numpy as np

from zkml.circuit import pre_activation
from zkml.protocols.expr import Term, aff
from zkml.arith.field import P, eq_table, field_vec_times_int_matrix, mle_eval


def split(point: list[int], sizes: list[int]) -> list[list[int]]:
    """Cut a point into consecutive parts of the given numbers of variables."""
    out, pos = [], 0
    for n in sizes:
        out.append(point[pos:pos + n])
        pos += n
    assert pos == len(point)
    return out


def output_value(ctx, spec) -> tuple[int, int]:
    """(value, blind) of the layer's pre-activation Z at its group's point: the committed
    logits for the last layer, else m^-1 (2^k Q + R - 2^(k-1)) from the committed Q, R
    (minus m^-1 m_s A_j with a residual branch, A_j's value at the point committed here, or
    minus m^-1 (m_p ⊙ Z_p) with a projection shortcut, proved here)."""
    from zkml.arith.frvec import evaluate_tensor
    g = ctx.circuit.output_group(spec.index)
    if spec.is_last:
        return ctx.values[g][f"Z{spec.index}"]
    items, const, skip = pre_activation(ctx.circuit, spec.index)
    terms = [(ctx.values[g][n], c) for n, c in items]
    pt = ctx.points[g]
    if skip is not None and skip[0] == "proj":
        terms.append((prove_projection_value(ctx, spec, pt), skip[1]))
    elif skip is not None:
        j, c = skip
        terms.append((ctx.claims.send_new(ctx.ch, f"A{j}", pt, evaluate_tensor(ctx.wit[f"A{j}"], pt),
                                          f"residual{spec.index}/A{j}", ctx.rng), c))
    return ((sum(c * v[0] for v, c in terms) + const) % P, sum(c * v[1] for v, c in terms) % P)


# A projection shortcut: the prover commits to v = (m_p ⊙ Z_p)~(r) at the group's point r
# (label proj<l>/value) and proves it by the convolution steps of layers/conv.py on A_j and the
# committed W<l>p, b<l>p (labels proj<l>/...); v enters the layer's claim like A_j~(r) does.
def prove_projection_value(ctx, spec, pt: list[int]) -> tuple[int, int]:
    from zkml.arith.frvec import evaluate_tensor
    from zkml.commitments import pedersen_prover as pedersen
    from zkml.layers import conv
    value = evaluate_tensor(ctx.wit[f"P{spec.index}"].ravel(), pt)
    blind = pedersen.random_scalar(ctx.rng)
    ctx.ch.send_point(f"proj{spec.index}/value", pedersen.commit_scalar(value, blind))
    r_n, r_out = split(pt, [ctx.circuit.s_vars, spec.out.n_vars])
    conv.prove_conv(ctx, spec.proj, r_n, r_out, (value, blind))
    return value, blind


def verify_projection_value(ctx, spec, pt: list[int]):
    from zkml.layers import conv
    value_c = ctx.ch.recv_point(f"proj{spec.index}/value")
    r_n, r_out = split(pt, [ctx.circuit.s_vars, spec.out.n_vars])
    conv.verify_conv(ctx, spec.proj, r_n, r_out, value_c)
    return value_c


def output_commitment(ctx, spec):
    """The verifier's commitment to the same value (output_value)."""
    from zkml.commitments import pedersen
    from zkml.arith.curve import get_backend
    g = ctx.circuit.output_group(spec.index)
    if spec.is_last:
        return ctx.values[g][f"Z{spec.index}"]
    items, const, skip = pre_activation(ctx.circuit, spec.index)
    points, scalars = [pedersen.g()] + [ctx.values[g][n] for n, _ in items], [const] + [c for _, c in items]
    if skip is not None and skip[0] == "proj":
        points.append(verify_projection_value(ctx, spec, ctx.points[g]))
        scalars.append(skip[1])
    elif skip is not None:
        points.append(ctx.claim(f"A{skip[0]}", ctx.points[g], f"residual{spec.index}/A{skip[0]}"))
        scalars.append(skip[1])
    return get_backend().msm(points, scalars)


def kron(vectors: list[np.ndarray]) -> np.ndarray:
    """Kronecker product of field vectors (object arrays), first vector most significant."""
    out = np.ones(1, dtype=object)
    for v in vectors:
        out = (np.multiply.outer(out, np.asarray(v, dtype=object)) % P).ravel()
    return out


def window_vector(eq_out: np.ndarray, weights: list[int], out_real: int, in_real: int, in_vars: int,
                  stride: int, pad_begin: int) -> np.ndarray:
    """v[h] = sum of eq_out[o] * weights[k] over outputs o < out_real and window offsets k with
    o * stride + k - pad_begin = h inside [0, in_real): which input positions the windows read.
    Object array of length 2^in_vars."""
    v = np.zeros(1 << in_vars, dtype=object)
    for k, wk in enumerate(weights):
        for o in range(out_real):
            h = o * stride + k - pad_begin
            if 0 <= h < in_real:
                v[h] = (v[h] + int(eq_out[o]) * wk) % P
    return v


def window_matrix(eq_out: np.ndarray, kernel: int, kernel_vars: int, out_real: int, in_real: int,
                  in_vars: int, stride: int, pad_begin: int) -> np.ndarray:
    """Rows k < kernel: window_vector with the unit weight on offset k ([2^kernel_vars, 2^in_vars])."""
    m = np.zeros((1 << kernel_vars, 1 << in_vars), dtype=object)
    for k in range(kernel):
        m[k] = window_vector(eq_out, [0] * k + [1], out_real, in_real, in_vars, stride, pad_begin)
    return m


# A window sum: claim = sum_y A~(r_n, y) M(y) over one sample's joint input index y (real
# positions (c, h, w) at y = c H W + h W + w, then padding), with a public table M that is 0 on
# the padding: what the layer reads of its input (conv: eq(r_c, c) mh(h) mw(w); pooling: the
# windows of the output point's weights). The verifier materialises M (O(C H W) for the conv,
# O(C OH OW K) for pooling) and evaluates its MLE at the sumcheck's last point. The prover's
# table A~(r_n, .) is one limb product over the samples (as in Thaler's matmul protocol); the
# sumcheck ends in a claim on the committed, jointly indexed A at (r_n, r_y).
def prove_window_sum(ctx, name: str, size: int, r_n: list[int], m: np.ndarray, claim: tuple[int, int],
                     label: str) -> None:
    from zkml.protocols.sumcheck_prover import prove_sumcheck
    a_bar = field_vec_times_int_matrix(eq_table(r_n), ctx.wit[name].reshape(-1, size))
    point, evals = prove_sumcheck(ctx.ch, size.bit_length() - 1, [Term(1, ("M",), (aff("fA"),))],
                                  {"fA": a_bar}, {"M": m}, claim[0], claim[1], label, ctx.rng)
    ctx.claims.add(name, r_n + point, *evals["fA"])


def verify_window_sum(ctx, name: str, n_vars: int, r_n: list[int], m: np.ndarray, claim_c, label: str) -> None:
    """m: the public table over the joint input index (length 2^n_vars)."""
    from zkml.protocols.sumcheck_verifier import verify_sumcheck
    point, evals = verify_sumcheck(ctx.ch, n_vars, [Term(1, ("M",), (aff("fA"),))],
                                   lambda _name, p: mle_eval(m, p), claim_c, label)
    ctx.claim(name, r_n + point, commitment=evals["fA"])


def joint_table(layout, real: np.ndarray) -> np.ndarray:
    """A public per-sample table given on the real positions [C, H, W] (or flat), as an
    object array over the joint index: real entries first, zeros on the padding."""
    out = np.zeros(layout.size, dtype=object)
    out[:layout.real_size] = np.asarray(real, dtype=object).ravel() % P
    return out


def window_table(s, e_out: np.ndarray, weights_h: list[int], weights_w: list[int]) -> np.ndarray:
    """M over the joint input index of a pooling layer: M(c, h, w) = sum of e_out(c, i, j)
    wh(u) ww(v) over the outputs (i, j) and offsets (u, v) whose window reads (h, w); e_out is
    over the real outputs [C, OH, OW]. O(C OH OW KH KW) field operations."""
    (_, h, w), (_, oh, ow) = s.inp.real, s.out.real
    (sh, sw), (pt, pl, _, _) = s.stride, s.pads
    e_out = np.asarray(e_out, dtype=object).reshape(s.out.real)
    m = np.zeros(s.inp.real, dtype=object)
    for u, wu in enumerate(weights_h):
        rows = [(i, i * sh + u - pt) for i in range(oh) if 0 <= i * sh + u - pt < h]
        for v, wv in enumerate(weights_w):
            cols = [(j, j * sw + v - pl) for j in range(ow) if 0 <= j * sw + v - pl < w]
            if rows and cols:
                (oi, ii), (oj, ij) = (np.array(t) for t in zip(*rows)), (np.array(t) for t in zip(*cols))
                m[:, ii[:, None], ij[None, :]] += e_out[:, oi[:, None], oj[None, :]] * (wu * wv % P)
        m %= P
    return joint_table(s.inp, m)


# Re-indexing (docs/protocol.md §3, "Joint activation layout"): a claim on a jointly indexed
# per-sample vector at (r_n, r_joint) becomes a claim on the same vector laid out on the grid
# (every dimension padded, zeros on the padding) at (r_n, r_grid), by one sumcheck over the
# grid's variables of  E(x) f(x)  with the public E(x) = eq(r_joint, joint index of x) on real
# grid positions x, 0 elsewhere (degree 2). The verifier evaluates E~ in O(grid + joint size).
def prove_regrid(ctx, layout, f_grid: np.ndarray, r_joint: list[int], claim: tuple[int, int],
                 label: str) -> tuple[list[int], tuple[int, int]]:
    """f_grid: the prover's per-sample vector already on the grid. Returns (r_grid, its value)."""
    from zkml.protocols.sumcheck_prover import prove_sumcheck
    e = layout.to_grid(eq_table(r_joint))
    point, evals = prove_sumcheck(ctx.ch, layout.grid.n_vars, [Term(1, ("E",), (aff("fG"),))],
                                  {"fG": f_grid}, {"E": e}, claim[0], claim[1], label, ctx.rng)
    return point, evals["fG"]


def verify_regrid(ctx, layout, r_joint: list[int], claim_c, label: str):
    """Returns (r_grid, the commitment to the grid vector's value there)."""
    from zkml.protocols.sumcheck_verifier import verify_sumcheck
    point, evals = verify_sumcheck(ctx.ch, layout.grid.n_vars, [Term(1, ("E",), (aff("fG"),))],
                                   lambda _name, p: layout.reindex_eval(p, r_joint), claim_c, label)
    return point, evals["fG"]


# Per-channel multipliers m(o): the layer's claim is on (m ⊙ Z), so its weights enter weighted
# by em(o) = eq(r_o, o) m(o) and the bias as the committed scalar v_b = sum_o em(o) b(o). The
# layer's sumcheck then ends in fW(r_k) = sum_o em(o) W~(o, r_k), which one more sumcheck over
# the channels (challenge lam) reduces, with v_b, to point claims on W and b:
#   sum_o em(o) [W~(o, r_k) + lam b(o)] = fW(r_k) + lam v_b.
def channel_weights(s, r_o: list[int]) -> np.ndarray | None:
    """em(o) = eq(r_o, o) m(o) over the padded output channels, or None (one multiplier)."""
    ms = s.channel_multipliers()
    if ms is None:
        return None
    e = eq_table(r_o)
    return np.array([int(e[o]) * m % P for o, m in enumerate(ms)], dtype=object)


def send_channel_bias(ctx, s, em: np.ndarray, label: str) -> tuple[int, int]:
    from zkml.commitments import pedersen_prover as pedersen
    value = int(sum(int(e) * int(b) for e, b in zip(em, ctx.wit[s.b_name])) % P)
    blind = pedersen.random_scalar(ctx.rng)
    ctx.ch.send_point(label, pedersen.commit_scalar(value, blind))
    return value, blind


def _channel_terms(s, lam: int) -> list[Term]:
    return [Term(1, ("em",), (aff("fWo"),)), Term(lam, ("em",), (aff(s.b_name),))]


def prove_channel_sum(ctx, s, em: np.ndarray, r_k: list[int], fw: tuple[int, int], vb: tuple[int, int],
                      label: str) -> None:
    from zkml.protocols.sumcheck_prover import prove_sumcheck
    w, b, n_out = s.w_name, s.b_name, s.out.grid.vars[0]
    lam = ctx.ch.challenge(label + "/lambda")
    w_at = field_vec_times_int_matrix(eq_table(r_k), ctx.wit[w].reshape(1 << n_out, -1).T)
    point, evals = prove_sumcheck(ctx.ch, n_out, _channel_terms(s, lam), {"fWo": w_at, b: ctx.wit[b]},
                                  {"em": em}, (fw[0] + lam * vb[0]) % P, (fw[1] + lam * vb[1]) % P, label, ctx.rng)
    ctx.claims.add(w, point + r_k, *evals["fWo"])
    ctx.claims.add(b, point, *evals[b])


def verify_channel_sum(ctx, s, em: np.ndarray, r_k: list[int], fw_c, vb_c, label: str) -> None:
    from zkml.arith.curve import get_backend
    from zkml.protocols.sumcheck_verifier import verify_sumcheck
    n_out = s.out.grid.vars[0]
    lam = ctx.ch.challenge(label + "/lambda")
    be = get_backend()
    point, evals = verify_sumcheck(ctx.ch, n_out, _channel_terms(s, lam), lambda _n, p: mle_eval(em, p),
                                   be.add(fw_c, be.mul(vb_c, lam)), label)
    ctx.claim(s.w_name, point + r_k, commitment=evals["fWo"])
    ctx.claim(s.b_name, point, commitment=evals[s.b_name])
