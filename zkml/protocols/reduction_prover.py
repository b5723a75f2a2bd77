"""Prover of the witness opening's reduction (commitments/hyrax.py, "one opening for the
witness"): claims on a proof's tensors at points of different sizes become claims at one point
of N variables, by one degree-2 sumcheck over the tensors' zero-prefix embeddings. The verifier
runs the generic sumcheck verifier with the public tables eq((0^(N-n_i), z_i), x)
(hyrax.embedded_eq); this prover never builds a table of 2^N entries for a smaller tensor."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.arith.field import P
from zkml.arith.frvec import FrVec, evaluate_tensor
from zkml.commitments.hyrax import embedded_eq, embedding_factor, reduction_terms, witness_point_vars
from zkml.protocols.expr import Affine
from zkml.protocols.sumcheck_prover import affine_table, prove_final, send_round


@dataclass
class _PointGroup:
    """The claims at one point z of n variables: their combination's affine and claimed sum S;
    kappa = prod (1 - r_j)^2 over the rounds bound so far among the leading N - n (dormant),
    then the tables eq(z, .) and the affine's, folded round by round (active)."""
    point: list[int]
    affine: Affine
    total: int
    kappa: int = 1
    tables: tuple[FrVec, FrVec] | None = None


def prove_witness_reduction(ch, points: dict[tuple[int, ...], list[str]], claims: dict, wit: dict[str, np.ndarray],
                            label: str, rng=None) -> tuple[list[int], dict[str, tuple[int, int]]]:
    """points: {point: tensor names claimed there} in the canonical order; claims[(name, point)]
    = (value, blind). Returns the point r of N variables and {name: (T'~(r), blind)}."""
    rho = ch.challenge(f"{label}/rho")
    terms, coefs = reduction_terms(points, rho)
    claim = sum(c * claims[key][0] for key, c in coefs.items()) % P
    blind = sum(c * claims[key][1] for key, c in coefs.items()) % P
    n_total = witness_point_vars(points)
    groups = [_PointGroup(list(pt), term.affines[0], sum(coefs[(n, pt)] * claims[(n, pt)][0] for n in names) % P)
              for (pt, names), term in zip(points.items(), terms)]
    point: list[int] = []
    for rnd in range(n_total):
        at0, at2 = 0, 0
        for g in groups:
            if rnd < n_total - len(g.point):
                # dormant: the term is kappa (1 - X)^2 S over the rest of the cube
                at0, at2 = at0 + g.kappa * g.total, at2 + g.kappa * g.total
                continue
            if g.tables is None:
                g.tables = (FrVec.eq_table(g.point), affine_table(g.affine, wit))
            e, f = g.tables
            e0, f0, e1, f1 = e.lo(), f.lo(), e.hi(), f.hi()
            at0 += g.kappa * e0.dot(f0)
            at2 += g.kappa * e1.add(e1.sub(e0)).dot(f1.add(f1.sub(f0)))      # the tables at X = 2
        r, claim, blind = send_round(ch, [at0 % P, None, at2 % P], claim, blind, f"{label}/round{rnd}", rng)
        point.append(r)
        for g in groups:
            if g.tables is None:
                g.kappa = g.kappa * (1 - r) * (1 - r) % P
            else:
                g.tables = (g.tables[0].fold(r), g.tables[1].fold(r))
    values = {}
    for pt, names in points.items():
        for name in names:
            n = len(pt)
            values[name] = embedding_factor(n, point) * evaluate_tensor(wit[name], point[n_total - n:]) % P
    public = {f"eq{i}": embedded_eq(list(pt), point) for i, pt in enumerate(points)}
    return point, prove_final(ch, terms, values, public, claim, blind, label, rng)
