"""Zero-knowledge evaluation proofs for Hyrax-committed tensors (Wahby et al. 2018, §6).

To prove that committed values v_t equal tensor_t~(point) for several tensors of the same
size at one point: a challenge rho combines them (rows C_i = sum_t rho^t C_{t,i}, value
sum_t rho^t v_t); with L = eq(row part), R = eq(column part) the verifier forms
T = sum_i L_i C_i, a commitment to w = L^T M, and a dot-product proof shows <w, R> = v.
"""
from __future__ import annotations

import numpy as np

from zkml.commitments import ipa
from zkml.arith.curve import get_backend
from zkml.errors import VerificationError
from zkml.arith.field import P, eq_table, field_vec_times_int_matrix
from zkml.commitments.pedersen import layout


def _split(point: list[int]) -> tuple[list[int], list[int]]:
    a, _ = layout(len(point))
    return point[:a], point[a:]


def prove_batch_eval(ch, items: list[tuple], point: list[int], label: str, rng=None) -> None:
    """items: (values, row_blinds, claimed value, value_blind, TensorCommitment) per tensor,
    all with len(point) variables. (The commitment is only read by the simulator.)"""
    rho = ch.challenge(label + "/rho")
    row_pt, col_pt = _split(point)
    left, right = eq_table(row_pt), eq_table(col_pt)
    n_rows, n_cols = len(left), len(right)
    w = np.zeros(n_cols, dtype=object)
    rho_t, rv, v, coef = 0, 0, 0, 1
    be = get_backend()
    t_point = be.identity()
    for values, row_blinds, value, value_blind, tc in items:
        values = np.asarray(values)
        matrix = values.reshape(n_rows, n_cols)
        if values.dtype == object:
            w_t = (left @ matrix) % P
        else:
            w_t = field_vec_times_int_matrix(left, matrix)
        w = (w + w_t * coef) % P
        rho_t = (rho_t + coef * int(np.dot(left, np.array(row_blinds, dtype=object)) % P)) % P
        rv = (rv + coef * value_blind) % P
        v = (v + coef * value) % P
        if ch.simulate:
            t_point = be.add(t_point, be.msm(tc.rows, [coef * int(x) % P for x in left]))
        coef = coef * rho % P
    ipa.prove_dot(ch, w, rho_t, right, v, rv, label + "/dot", rng, t_point)


def verify_batch_eval(ch, items: list[tuple], point: list[int], label: str, what: str) -> None:
    """items: (TensorCommitment, value commitment) per tensor."""
    be = get_backend()
    rho = ch.challenge(label + "/rho")
    row_pt, col_pt = _split(point)
    left, right = eq_table(row_pt), eq_table(col_pt)
    n_rows = len(left)
    coef = 1
    points, scalars, values, coefs = [], [], [], []
    for tc, value_commitment in items:
        if tc.n_vars != len(point) or len(tc.rows) != n_rows:
            raise VerificationError("a tensor commitment does not match its evaluation point")
        for i in range(n_rows):
            points.append(tc.rows[i])
            scalars.append(coef * int(left[i]) % P)
        values.append(value_commitment)
        coefs.append(coef)
        coef = coef * rho % P
    cv = be.msm(values, coefs)
    t = be.msm(points, scalars)
    ipa.verify_dot(ch, t, cv, right, label + "/dot", what)


# -- many points to one --------------------------------------------------------------------
# Claims on tensors of the same size at several points are first reduced to one point by a
# sumcheck (the standard batching of evaluation claims): with a random rho,
#   sum_x sum_i eq(z_i, x) sum_j rho^k(i,j) T_ij(x) = sum_i sum_j rho^k(i,j) v_ij,
# after which every T_ij is claimed at the sumcheck's point and opened there, once per size.
# A wrong v_ij survives with probability at most (claims + 2 n) / r.

def claims_by_size(keys) -> dict[int, dict[tuple[int, ...], list[str]]]:
    """{n_vars: {point: [tensor names]}} in the canonical order both sides use."""
    out: dict[int, dict[tuple[int, ...], list[str]]] = {}
    for name, pt in sorted(keys, key=lambda k: (len(k[1]), k[1], k[0])):
        out.setdefault(len(pt), {}).setdefault(pt, []).append(name)
    return out


def reduction_terms(points: dict[tuple[int, ...], list[str]], rho: int):
    """The reduction sumcheck's terms (public table "eq<i>" = eq(z_i, x)) and the
    coefficient rho^k of each (point, name)."""
    from zkml.protocols.expr import Affine, Term
    terms, coefs, c = [], {}, 1
    for i, (pt, names) in enumerate(points.items()):
        parts = []
        for name in names:
            coefs[(name, pt)] = c
            parts.append((name, c))
            c = c * rho % P
        terms.append(Term(1, (f"eq{i}",), (Affine(tuple(parts)),)))
    return terms, coefs
