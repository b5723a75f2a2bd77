"""Zero-knowledge sumcheck prover (Hyrax, Wahby et al. 2018, §4: commit to each round
polynomial's coefficients and prove the round relations with sigma protocols).

Round j: g_j(X) = sum over the remaining cube of the term products with the first free
variable set to X. The prover commits to its coefficients c_0..c_d, proves in zero knowledge
that g_j(0) + g_j(1) = 2c_0 + c_1 + ... + c_d equals the running (committed) claim, and the
new claim is g_j(r_j) = sum c_k r_j^k, whose commitment the verifier derives itself.
"""
from __future__ import annotations

import numpy as np

from . import pedersen, sigma
from .expr import Affine, Term, committed_names
from .field import P, evaluate_tensor
from .poly import coefficients_from_evals


def _affine_table(a: Affine, tables: dict[str, np.ndarray]) -> np.ndarray:
    if len(a.parts) == 1 and a.parts[0][1] == 1 and a.const == 0:
        t = np.asarray(tables[a.parts[0][0]])
        if t.dtype == object:
            return t         # already a reduced field vector: no copy (folding makes new arrays)
    out = None
    for name, c in a.parts:
        t = np.asarray(tables[name])
        t = t.astype(object) if t.dtype != object else t
        out = t * c if out is None else out + t * c
    out = (out + a.const) % P
    return out


def prove_sumcheck(ch, n_vars: int, terms: list[Term], committed: dict[str, np.ndarray],
                   public: dict[str, np.ndarray], claim: int, claim_blind: int, label: str,
                   rng=None) -> tuple[list[int], dict[str, tuple[int, int]]]:
    """Returns the random point and {tensor: (value at point, blind of its commitment)}."""
    factors: dict[object, np.ndarray] = {}
    for t in terms:
        for name in t.public:
            factors.setdefault(("pub", name), np.asarray(public[name], dtype=object) % P)
        for a in t.affines:
            factors.setdefault(a, _affine_table(a, committed))
    degree = max(1, max(t.degree for t in terms))
    point: list[int] = []
    for rnd in range(n_vars):
        half = len(next(iter(factors.values()))) // 2
        diffs = {key: tab[half:] - tab[:half] for key, tab in factors.items()}
        evals = []
        for x in range(degree + 1):
            if x == 1:           # g(1) = claim - g(0): one evaluation saved per round (degree >= 1)
                evals.append(None)
                continue
            # factor values with the round's variable set to x, one x at a time (memory)
            at_x = {key: tab[:half] if x == 0 else tab[:half] + diffs[key] * x
                    for key, tab in factors.items()}
            total = 0
            for t in terms:
                prod = None
                for key in [("pub", n) for n in t.public] + list(t.affines):
                    v = at_x[key]
                    prod = v if prod is None else (prod * v) % P
                total += t.coef * (int(prod.sum()) if prod is not None else half)
            evals.append(total % P)
            del at_x
        evals[1] = (claim - evals[0]) % P
        coeffs = coefficients_from_evals(evals)
        blinds = [pedersen.random_scalar(rng) for _ in coeffs]
        for k, (c, s) in enumerate(zip(coeffs, blinds)):
            ch.send_point(f"{label}/round{rnd}/c{k}", pedersen.commit_scalar(c, s))
        sigma.prove_zero(ch, (2 * coeffs[0] + sum(coeffs[1:]) - claim) % P,
                         (2 * blinds[0] + sum(blinds[1:]) - claim_blind) % P,
                         f"{label}/round{rnd}/sum", rng)
        r = ch.challenge(f"{label}/round{rnd}/r")
        point.append(r)
        claim = sum(c * pow(r, k, P) for k, c in enumerate(coeffs)) % P
        claim_blind = sum(s * pow(r, k, P) for k, s in enumerate(blinds)) % P
        for key, tab in factors.items():
            factors[key] = (tab[:half] + diffs[key] * r) % P
        del diffs
    evals = _prove_final(ch, terms, committed, factors, point, claim, claim_blind, label, rng)
    return point, evals


def _prove_final(ch, terms, committed, factors, point, claim, claim_blind, label, rng) -> dict:
    """Commit to each committed tensor's value at the point and show the claim is consistent."""
    evals = {}
    for name in committed_names(terms):
        value = evaluate_tensor(committed[name], point)
        blind = pedersen.random_scalar(rng)
        ch.send_point(f"{label}/eval/{name}", pedersen.commit_scalar(value, blind))
        evals[name] = (value, blind)
    total, total_blind = -claim, -claim_blind
    for i, t in enumerate(terms):
        scale = t.coef
        for n in t.public:
            scale = scale * int(factors[("pub", n)][0]) % P
        vals = [(sum(c * evals[n][0] for n, c in a.parts) + a.const) % P for a in t.affines]
        blds = [sum(c * evals[n][1] for n, c in a.parts) % P for a in t.affines]
        if len(t.affines) == 2:
            rz = pedersen.random_scalar(rng)
            prod = vals[0] * vals[1] % P
            ch.send_point(f"{label}/prod{i}", pedersen.commit_scalar(prod, rz))
            sigma.prove_product(ch, vals[0], blds[0], vals[1], blds[1], prod, rz,
                                f"{label}/prod{i}/pf", rng)
            total, total_blind = total + scale * prod, total_blind + scale * rz
        elif len(t.affines) == 1:
            total, total_blind = total + scale * vals[0], total_blind + scale * blds[0]
        else:
            total += scale
    sigma.prove_zero(ch, total % P, total_blind % P, f"{label}/final", rng)
    return evals
