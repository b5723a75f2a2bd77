"""Prover of the lookup argument: LogUp with a GKR proof of the fraction sum (Papini and
Haböck, "Improving logarithmic derivative lookups using GKR", 2023, §3), made zero
knowledge the Hyrax way (every round polynomial and every layer value is committed).

The leaves (circuit.columns) hold p/q = 1/(alpha - looked-up value) for every lookup
entry and -mult(t)/(alpha - T(t)) for every table row; all looked-up values are in the
table (with these multiplicities) iff the leaves sum to zero. Layer k of the tree has 2^k
fractions, layer k+1's halves added pairwise:
    p_k(x) = p_{k+1}(0, x) q_{k+1}(1, x) + p_{k+1}(1, x) q_{k+1}(0, x)
    q_k(x) = q_{k+1}(0, x) q_{k+1}(1, x)
The root p_0 must be 0 (public); q_0 stays committed. Nothing inverse is ever committed:
the cost is one sumcheck per layer instead of an MSM over every looked-up entry.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from zkml.commitments import pedersen_prover as pedersen   # random_scalar, commit_scalar
from zkml.circuit import Circuit
from zkml.protocols.expr import fraction_layer_terms as layer_terms
from zkml.arith.field import P, inv
from zkml.arith.frvec import FrVec
from zkml.protocols.sumcheck_prover import prove_final, send_round


def leaves(circuit: Circuit, keys: dict, mult: np.ndarray, alpha: int, beta: int):
    """(p, q) leaf vectors; keys[(group, lookup index)] = (value, aux, kind) int arrays.
    Padding leaves are 0 / 1; each column is computed in one kernel pass (FrVec.affine_ints)
    and copied into its block."""
    size = 1 << circuit.leaf_vars
    p, q = FrVec.affine_ints(0, [], size), FrVec.affine_ints(1, [], size)
    for col in circuit.columns:
        if col.group is None:
            table = [(circuit.table_value, P - 1), (circuit.table_aux, P - beta), (circuit.table_kind, P - beta * beta % P)]
            p.write(col.offset, FrVec.affine_ints(0, [(np.asarray(mult, dtype=np.int64), P - 1)]))
            q.write(col.offset, FrVec.affine_ints(alpha, table))
            continue
        val, aux, kind = keys[(col.group, col.lookup)]
        p.write(col.offset, FrVec.affine_ints(1, [], len(val)))
        q.write(col.offset, FrVec.affine_ints(alpha - beta * beta * kind, [(val, P - 1), (aux, P - beta)]))
    return p, q


def prove_fraction_sum(ch, make_leaves: Callable[[], tuple[FrVec, FrVec]], label: str,
                       rng=None) -> tuple[list[int], tuple[int, int], tuple[int, int]]:
    """Proves sum p/q = 0 over the leaves that make_leaves() builds. Returns the leaf point r
    and (value, blind) of the commitments to p~(r) and q~(r), which the caller ties to the
    committed tensors.

    Memory: the leaves are the biggest layer (half the tree), so they are built twice, for
    the tree and again for the last layer's sumcheck, instead of being kept in between; each
    layer is dropped once its sumcheck has folded it. The peak is the leaves, the next layer
    and one fold (~3 field elements per leaf) instead of the whole tree and a fold (~6)."""
    p, q = make_leaves()
    layers = [FrVec.fraction_parent(p, q)] if len(p) > 1 else []
    del p, q
    while layers and len(layers[-1][0]) > 1:
        layers.append(FrVec.fraction_parent(*layers[-1]))
    layers.reverse()                                # layers[k] has 2^k entries
    layers.append(None)                             # the leaves, rebuilt for the last layer
    q_root = int((layers[0][1] if len(layers) > 1 else make_leaves()[1]).to_ints()[0])
    claim_p, claim_q = (0, 0), (q_root, pedersen.random_scalar(rng))
    ch.send_point(f"{label}/root_q", pedersen.commit_scalar(*claim_q))
    point: list[int] = []
    for k in range(len(layers) - 1):
        lab = f"{label}/layer{k}"
        lam = ch.challenge(lab + "/lambda")
        claim = (claim_p[0] + lam * claim_q[0]) % P
        blind = (claim_p[1] + lam * claim_q[1]) % P
        lp, lq = layers[k + 1] if layers[k + 1] is not None else make_leaves()
        layers[k + 1] = None
        rs, eq_done = [], 1          # eq(rho_i, r_i) over the rounds done
        for rnd in range(k):
            # s(X) = eq_done * eq(rho_rnd, X) * h(X), h of degree 2 (Gruen 2024, §3)
            rho_j = point[rnd]
            rest = FrVec.eq_table(point[rnd + 1:])
            scale = eq_done * rho_j % P
            h0, h1, h2 = FrVec.gkr_round(rest, lp, lq, lam, want_one=scale == 0)
            if h1 is None:           # from s(0) + s(1) = claim
                h1 = (claim * inv(scale) - h0 * (1 - rho_j) * inv(rho_j)) % P
            h3 = (h0 - 3 * h1 + 3 * h2) % P
            lin = [(1 - rho_j) * (1 - x) + rho_j * x for x in (0, 2, 3)]
            evals = [eq_done * lin[0] * h0 % P, None, eq_done * lin[1] * h2 % P, eq_done * lin[2] * h3 % P]
            r, claim, blind = send_round(ch, evals, claim, blind, f"{lab}/round{rnd}", rng)
            rs.append(r)
            eq_done = eq_done * ((1 - rho_j) * (1 - r) + rho_j * r) % P
            lp, lq = lp.fold_halves(r), lq.fold_halves(r)
        p0, p1 = (int(v) for v in lp.to_ints())
        q0, q1 = (int(v) for v in lq.to_ints())
        evals = prove_final(ch, layer_terms(lam), {"p0": p0, "p1": p1, "q0": q0, "q1": q1},
                            {"eq": eq_done}, claim, blind, lab, rng)
        mu = ch.challenge(lab + "/mu")
        claim_p = _line(evals["p0"], evals["p1"], mu)
        claim_q = _line(evals["q0"], evals["q1"], mu)
        point = [mu] + rs
    return point, claim_p, claim_q


def _line(at0: tuple[int, int], at1: tuple[int, int], mu: int) -> tuple[int, int]:
    """(value, blind) of f(mu) = (1 - mu) f(0) + mu f(1) for a committed pair."""
    return tuple(((1 - mu) * a + mu * b) % P for a, b in zip(at0, at1))
