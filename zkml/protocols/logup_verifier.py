"""Verifier of the lookup argument of logup_prover.py (same message order): checks the GKR
proof that the leaves' fractions sum to zero, layer by layer from the root."""
from __future__ import annotations

from zkml.arith.field import P, eq_eval
from zkml.protocols.expr import fraction_layer_terms as layer_terms
from zkml.protocols.group_checks import Combination
from zkml.protocols.sumcheck_verifier import verify_final, verify_round


def verify_fraction_sum(ch, leaf_vars: int, label: str) -> tuple[list[int], Combination, Combination]:
    """Returns the leaf point r and the commitments to p~(r) and q~(r) (as combinations of
    proof points); the caller must tie them to the committed tensors (circuit.leaf_relations)."""
    claim_p = Combination([], [])                 # the root numerator is 0: the sum vanishes
    claim_q = Combination([ch.recv_point(f"{label}/root_q")], [1])
    point: list[int] = []
    for k in range(leaf_vars):
        lab = f"{label}/layer{k}"
        lam = ch.challenge(lab + "/lambda")
        claim = Combination(claim_p.points + claim_q.points,
                            claim_p.scalars + [s * lam % P for s in claim_q.scalars])
        rs = []
        for rnd in range(k):
            r, claim = verify_round(ch, 3, claim, f"{lab}/round{rnd}")
            rs.append(r)
        evals = verify_final(ch, layer_terms(lam), {"eq": eq_eval(point, rs)}, claim, lab,
                             f"lookup argument, layer {k}: the fractions do not add up (a looked-up "
                             "value is not in the table, or the proof is corrupt)")
        mu = ch.challenge(lab + "/mu")
        claim_p = Combination([evals["p0"], evals["p1"]], [(1 - mu) % P, mu])
        claim_q = Combination([evals["q0"], evals["q1"]], [(1 - mu) % P, mu])
        point = [mu] + rs
    return point, claim_p, claim_q
