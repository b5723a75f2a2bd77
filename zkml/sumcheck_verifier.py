"""Verifier of the zero-knowledge sumcheck in sumcheck_prover.py (same message order)."""
from __future__ import annotations

from typing import Callable

from . import pedersen, sigma
from .curve import get_backend
from .expr import Term, committed_names
from .field import P


def verify_sumcheck(ch, n_vars: int, terms: list[Term], public_eval: Callable[[str, list[int]], int],
                    claim_commitment, label: str) -> tuple[list[int], dict[str, object]]:
    """Returns the random point and {tensor: commitment to its value at the point}; the
    caller must then prove those values against the tensors' commitments."""
    be = get_backend()
    degree = max(1, max(t.degree for t in terms))
    claim_c = claim_commitment
    point: list[int] = []
    for rnd in range(n_vars):
        coeff_c = [ch.recv_point(f"{label}/round{rnd}/c{k}") for k in range(degree + 1)]
        sum_c = be.mul(coeff_c[0], 2)
        for c in coeff_c[1:]:
            sum_c = be.add(sum_c, c)
        sigma.verify_zero(ch, be.sub(sum_c, claim_c), f"{label}/round{rnd}/sum",
                          f"{label}: round {rnd} polynomial does not match the running claim")
        r = ch.challenge(f"{label}/round{rnd}/r")
        point.append(r)
        claim_c = be.msm(coeff_c, [pow(r, k, P) for k in range(degree + 1)])
    evals = {name: ch.recv_point(f"{label}/eval/{name}") for name in committed_names(terms)}
    g = pedersen.g()
    total = be.neg(claim_c)
    for i, t in enumerate(terms):
        scale = t.coef
        for n in t.public:
            scale = scale * public_eval(n, point) % P
        affs = []
        for a in t.affines:
            c = be.mul(g, a.const)
            for n, k in a.parts:
                c = be.add(c, be.mul(evals[n], k))
            affs.append(c)
        if len(affs) == 2:
            cz = ch.recv_point(f"{label}/prod{i}")
            sigma.verify_product(ch, affs[0], affs[1], cz, f"{label}/prod{i}/pf",
                                 f"{label}: product proof {i} failed")
            value_c = cz
        elif len(affs) == 1:
            value_c = affs[0]
        else:
            value_c = g
        total = be.add(total, be.mul(value_c, scale))
    sigma.verify_zero(ch, total, f"{label}/final",
                      f"{label}: final evaluation does not match the sumcheck claim")
    return point, evals
