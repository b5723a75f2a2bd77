"""Zero-knowledge sumcheck prover (Hyrax, Wahby et al. 2018, §4: commit to each round
polynomial's coefficients; relations between committed values by sigma protocols).

Round j: g_j(X) = sum over the remaining cube of the term products with the first free
variable set to X. The prover commits to c_1..c_d; c_0 is fixed by g_j(0) + g_j(1) = claim
and its commitment derived by the verifier from the running claim's, so the round relation
holds by construction. The new claim is g_j(r_j) = sum c_k r_j^k, whose commitment the
verifier derives itself. At the end, the committed tables' values are committed and a
zero proof (with proofs of product) shows the terms evaluate to the final claim.
"""
from __future__ import annotations

import numpy as np

from zkml.commitments import pedersen, pedersen_prover
from zkml.protocols import sigma_prover
from zkml.protocols.expr import Affine, Term, committed_names
from zkml.arith.field import INV2, P
from zkml.arith.frvec import FrVec, evaluate_tensor
from zkml.protocols.poly import coefficients_from_evals


def affine_table(a: Affine, tables: dict[str, np.ndarray]) -> FrVec:
    """const + sum_i c_i T_i as a field vector."""
    out = None
    for name, c in a.parts:
        t = FrVec.from_ints(tables[name])
        t = t if c == 1 else t.scale(c)
        out = t if out is None else out.add(t)
    return out.add_const(a.const) if a.const else out


def prove_sumcheck(ch, n_vars: int, terms: list[Term], committed: dict[str, np.ndarray],
                   public: dict[str, np.ndarray], claim: int, claim_blind: int, label: str,
                   rng=None) -> tuple[list[int], dict[str, tuple[int, int]]]:
    """Returns the random point and {tensor: (value at point, blind of its commitment)}."""
    factors: dict[object, FrVec] = {}
    for t in terms:
        for name in t.public:
            table = public[name]
            factors.setdefault(("pub", name), table if isinstance(table, FrVec) else FrVec.from_ints(table))
        for a in t.affines:
            factors.setdefault(a, affine_table(a, committed))
    degree = max(1, max(t.degree for t in terms))
    point: list[int] = []
    for rnd in range(n_vars):
        half = 1 << (n_vars - rnd - 1)
        lows = {key: tab.lo() for key, tab in factors.items()}
        diffs = {key: tab.hi().sub(lows[key]) for key, tab in factors.items()}
        evals = []
        at_x = dict(lows)
        for x in range(degree + 1):
            # factor values with the round's variable set to x, one x at a time and replaced
            # one factor at a time (memory): the previous value plus the difference
            for key in (factors if x > 0 else ()):
                at_x[key] = at_x[key].add(diffs[key])
            if x == 1:           # g(1) = claim - g(0): one evaluation saved per round (degree >= 1)
                evals.append(None)
                continue
            total = 0
            for t in terms:
                prod = None
                for key in [("pub", n) for n in t.public] + list(t.affines):
                    prod = at_x[key] if prod is None else prod.mul(at_x[key])
                total += t.coef * (prod.sum() if prod is not None else half)
            evals.append(total % P)
        del at_x
        r, claim, claim_blind = send_round(ch, evals, claim, claim_blind, f"{label}/round{rnd}", rng)
        point.append(r)
        factors = {key: tab.fold(r) for key, tab in factors.items()}
        del lows, diffs
    values = {name: evaluate_tensor(committed[name], point) for name in committed_names(terms)}
    public_values = {key[1]: int(tab.to_ints()[0]) for key, tab in factors.items() if isinstance(key, tuple)}
    evals = prove_final(ch, terms, values, public_values, claim, claim_blind, label, rng)
    return point, evals


def send_round(ch, evals: list, claim: int, claim_blind: int, label: str, rng) -> tuple[int, int, int]:
    """One zero-knowledge round: evals are g(0), None, g(2), ..., g(d) (g(1) = claim - g(0)).
    Commits to the coefficients c_1 .. c_d only: c_0 = (claim - c_1 - ... - c_d) / 2 is what
    g(0) + g(1) = claim forces, and the verifier derives its commitment from the claim's,
    so the round check holds by construction. Returns the challenge r, g(r) and its blind."""
    evals = list(evals)
    evals[1] = (claim - evals[0]) % P
    coeffs = coefficients_from_evals(evals)
    blinds = [0] + [pedersen_prover.random_scalar(rng) for _ in coeffs[1:]]
    blinds[0] = (claim_blind - sum(blinds[1:])) * INV2 % P
    for k in range(1, len(coeffs)):
        ch.send_point(f"{label}/c{k}", pedersen.commit_scalar(coeffs[k], blinds[k]))
    r = ch.challenge(f"{label}/r")
    claim = sum(c * pow(r, k, P) for k, c in enumerate(coeffs)) % P
    claim_blind = sum(s * pow(r, k, P) for k, s in enumerate(blinds)) % P
    return r, claim, claim_blind


def prove_final(ch, terms: list[Term], values: dict[str, int], public_values: dict[str, int],
                claim: int, claim_blind: int, label: str, rng) -> dict[str, tuple[int, int]]:
    """Commit to each committed table's value at the final point (values) and show that the
    terms evaluated there equal the running claim. Returns {name: (value, blind)}."""
    evals = {}
    for name in committed_names(terms):
        blind = pedersen_prover.random_scalar(rng)
        ch.send_point(f"{label}/eval/{name}", pedersen.commit_scalar(values[name], blind))
        evals[name] = (values[name], blind)
    total, total_blind = -claim, -claim_blind
    for i, t in enumerate(terms):
        scale = t.coef
        for n in t.public:
            scale = scale * public_values[n] % P
        vals = [(sum(c * evals[n][0] for n, c in a.parts) + a.const) % P for a in t.affines]
        blds = [sum(c * evals[n][1] for n, c in a.parts) % P for a in t.affines]
        if len(t.affines) >= 2:
            prod, rz = _prove_chain(ch, vals, blds, f"{label}/prod{i}", rng)
            total, total_blind = total + scale * prod, total_blind + scale * rz
        elif len(t.affines) == 1:
            total, total_blind = total + scale * vals[0], total_blind + scale * blds[0]
        else:
            total += scale
    sigma_prover.prove_zero(ch, total % P, total_blind % P, f"{label}/final", rng)
    return evals


def _prove_chain(ch, vals: list[int], blds: list[int], label: str, rng) -> tuple[int, int]:
    """Commit the partial products z_j = v_0 ... v_j (j = 1 .. k-1) and prove each
    z_j = z_{j-1} v_j by a proof of product; returns the last one and its blind. With two
    factors this is the single product commitment and proof it always was (same labels)."""
    prod, blind = vals[0], blds[0]
    for j in range(1, len(vals)):
        name = label if j == 1 else f"{label}.{j}"
        rz = pedersen_prover.random_scalar(rng)
        z = prod * vals[j] % P
        ch.send_point(name, pedersen.commit_scalar(z, rz))
        sigma_prover.prove_product(ch, prod, blind, vals[j], blds[j], z, rz, f"{name}/pf", rng)
        prod, blind = z, rz
    return prod, blind
