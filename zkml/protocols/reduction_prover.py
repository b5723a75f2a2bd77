"""Prover of the witness opening's reduction (commitments/hyrax.py, "one opening for the
witness"): claims on a proof's tensors at points of different sizes become claims at one point
of N variables, by one degree-2 sumcheck over the tensors' zero-prefix embeddings. The verifier
runs the generic sumcheck verifier with the public tables eq((0^(N-n_i), z_i), x)
(hyrax.embedded_eq); this prover never builds a table of 2^N entries for a smaller tensor."""
from __future__ import annotations

import numpy as np

from zkml.arith.field import P
from zkml.arith.frvec import FrVec, evaluate_tensor
from zkml.commitments.hyrax import embedded_eq, embedding_factor, reduction_terms, witness_point_vars
from zkml.protocols.sumcheck_prover import _affine_table, prove_final, send_round


def prove_witness_reduction(ch, points: dict[tuple[int, ...], list[str]], claims: dict, wit: dict[str, np.ndarray],
                            label: str, rng=None) -> tuple[list[int], dict[str, tuple[int, int]]]:
    """points: {point: tensor names claimed there} in the canonical order; claims[(name, point)]
    = (value, blind). Returns the point r of N variables and {name: (T'~(r), blind)}."""
    rho = ch.challenge(f"{label}/rho")
    terms, coefs = reduction_terms(points, rho)
    claim = sum(c * claims[key][0] for key, c in coefs.items()) % P
    blind = sum(c * claims[key][1] for key, c in coefs.items()) % P
    n_total = witness_point_vars(points)
    groups = []            # per point: [n, claimed sum S, kappa, tables or None]
    for (pt, names), term in zip(points.items(), terms):
        total = sum(coefs[(name, pt)] * claims[(name, pt)][0] for name in names) % P
        groups.append([len(pt), total, 1, None, pt, term.affines[0]])
    point: list[int] = []
    for rnd in range(n_total):
        at0, at2 = 0, 0
        for g in groups:
            n, total, kappa, tables, pt, affine = g
            if rnd < n_total - n:
                # dormant: the term is kappa (1 - X)^2 S over the rest of the cube
                at0, at2 = at0 + kappa * total, at2 + kappa * total
                continue
            if tables is None:
                tables = g[3] = (FrVec.eq_table(list(pt)), _affine_table(affine, wit))
            (e, f) = tables
            e0, f0, e1, f1 = e.lo(), f.lo(), e.hi(), f.hi()
            at0 += kappa * e0.dot(f0)
            at2 += kappa * e1.add(e1.sub(e0)).dot(f1.add(f1.sub(f0)))
        r, claim, blind = send_round(ch, [at0 % P, None, at2 % P], claim, blind, f"{label}/round{rnd}", rng)
        point.append(r)
        for g in groups:
            if g[3] is None:
                g[2] = g[2] * (1 - r) * (1 - r) % P
            else:
                g[3] = (g[3][0].fold(r), g[3][1].fold(r))
    values = {}
    for pt, names in points.items():
        for name in names:
            n = len(pt)
            values[name] = embedding_factor(n, point) * evaluate_tensor(wit[name], point[n_total - n:]) % P
    public = {f"eq{i}": embedded_eq(list(pt), point) for i, pt in enumerate(points)}
    return point, prove_final(ch, terms, values, public, claim, blind, label, rng)
