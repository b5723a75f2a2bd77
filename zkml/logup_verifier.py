"""Verifier of the lookup argument of logup_prover.py (same message order): checks the GKR
proof that the leaves' fractions sum to zero, layer by layer from the root."""
from __future__ import annotations

from .curve import get_backend
from .field import P, eq_eval
from .logup_prover import layer_terms
from .sumcheck_verifier import verify_final, verify_round


def verify_fraction_sum(ch, leaf_vars: int, label: str) -> tuple[list[int], object, object]:
    """Returns the leaf point r and the commitments to p~(r) and q~(r); the caller must tie
    them to the committed tensors (circuit.leaf_relations)."""
    be = get_backend()
    claim_p = be.identity()                       # the root numerator is 0: the sum vanishes
    claim_q = ch.recv_point(f"{label}/root_q")
    point: list[int] = []
    for k in range(leaf_vars):
        lab = f"{label}/layer{k}"
        lam = ch.challenge(lab + "/lambda")
        claim = be.add(claim_p, be.mul(claim_q, lam))
        rs = []
        for rnd in range(k):
            r, claim = verify_round(ch, 3, claim, f"{lab}/round{rnd}")
            rs.append(r)
        evals = verify_final(ch, layer_terms(lam), {"eq": eq_eval(point, rs)}, claim, lab,
                             f"lookup argument, layer {k}: the fractions do not add up (a looked-up "
                             "value is not in the table, or the proof is corrupt)")
        mu = ch.challenge(lab + "/mu")
        claim_p = be.add(be.mul(evals["p0"], (1 - mu) % P), be.mul(evals["p1"], mu))
        claim_q = be.add(be.mul(evals["q0"], (1 - mu) % P), be.mul(evals["q1"], mu))
        point = [mu] + rs
    return point, claim_p, claim_q
