"""Zero-knowledge evaluation proofs for Hyrax-committed tensors (Wahby et al. 2018, §6).

To prove that committed values v_t equal tensor_t~(point) for several tensors of the same
size at one point: a challenge rho combines them (rows C_i = sum_t rho^t C_{t,i}, value
sum_t rho^t v_t); with L = eq(row part), R = eq(column part) the verifier forms
T = sum_i L_i C_i, a commitment to w = L^T M, and a dot-product proof shows <w, R> = v.
The prover's half is hyrax_prover.py, the verifier's hyrax_verifier.py; this module holds
what both use: the tables L and R of a point, and the reduction of claims at several points
to one.
"""
from __future__ import annotations

import numpy as np

from zkml.arith.field import P, eq_table
from zkml.commitments.pedersen import layout


def eq_halves(point: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """L = eq(row part) and R = eq(column part) of an evaluation point, cut as pedersen.layout
    cuts the tensor into rows and columns."""
    a, _ = layout(len(point))
    return eq_table(point[:a]), eq_table(point[a:])


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
