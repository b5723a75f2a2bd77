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

from zkml.arith.field import P, eq_eval, eq_table
from zkml.commitments.pedersen import layout


def eq_halves(point: list[int], columns: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """L = eq(row part) and R = eq(column part) of an evaluation point, cut as pedersen.layout
    cuts a tensor of len(point) variables (a model's, or a proof's) into rows and columns."""
    a, _ = layout(len(point), columns)
    return eq_table(point[:a]), eq_table(point[a:])


def embedded_shape(n_vars: int, columns: int | None) -> tuple[int, int]:
    """(rows, columns) of a tensor's committed matrix (pedersen.layout)."""
    a, b = layout(n_vars, columns)
    return 1 << a, 1 << b


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


def claims_by_point(keys) -> dict[tuple[int, ...], list[str]]:
    """{point: [tensor names]} in the canonical order (claims_by_size's, sizes ascending)."""
    return {pt: names for by_point in claims_by_size(keys).values() for pt, names in by_point.items()}


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


# -- one opening for the witness -----------------------------------------------------------
# A proof's tensors have rows of 2^c entries (c = pedersen.witness_columns; one row of 2^n if n < c).
# Claims on them at points of different sizes are reduced to ONE point of N variables (N the
# largest size) by one sumcheck, and opened there by one dot-product argument. A tensor T of
# n <= N variables enters as its zero-prefix embedding
#     T'(x_1..x_N) = prod_{j <= N-n} (1 - x_j) * T(x_{N-n+1}..x_N),
# whose multilinear extension at (0^(N-n), z) is T~(z), and whose committed matrix in the layout
# of N variables is T's rows followed by zero rows (n >= c), or T's one row followed by zeros
# (n < c): the verifier has T' 's row commitments without anything new. The sumcheck proves
#     sum_x sum_i eq((0^(N-n_i), z_i), x) sum_j rho^k(i,j) T'_ij(x) = sum_i sum_j rho^k(i,j) v_ij
# (degree 2, N rounds; error (claims + 2 N) / r), and every T_ij is then claimed at the
# embedding of the sumcheck's point r: T'_ij~(r) = prod_{j <= N-n}(1 - r_j) T_ij~(r_(N-n+1)..r_N).

def witness_point_vars(points) -> int:
    """N: the number of variables of the witness opening's point."""
    return max(len(pt) for pt in points)


def embedding_factor(n_vars: int, point: list[int]) -> int:
    """prod_{j <= N-n} (1 - r_j): a zero-prefix embedded tensor's value over its own one."""
    out = 1
    for r in point[:len(point) - n_vars]:
        out = out * (1 - r) % P
    return out


def embedded_eq(z: list[int], point: list[int]) -> int:
    """eq((0^(N-n), z), point) for z of n <= N = len(point) coordinates."""
    return embedding_factor(len(z), point) * eq_eval(z, point[len(point) - len(z):]) % P
