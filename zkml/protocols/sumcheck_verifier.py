"""Verifier of the zero-knowledge sumcheck in sumcheck_prover.py (same message order)."""
from __future__ import annotations

from typing import Callable

from zkml.commitments import pedersen
from zkml.protocols import sigma_verifier
from zkml.protocols.group_checks import Combination
from zkml.protocols.group_checks import terms as terms_of
from zkml.protocols.expr import Term, committed_names
from zkml.arith.field import INV2, P


def verify_sumcheck(ch, n_vars: int, terms: list[Term], public_eval: Callable[[str, list[int]], int],
                    claim_commitment, label: str) -> tuple[list[int], dict[str, object]]:
    """Returns the random point and {tensor: commitment to its value at the point}; the
    caller must then prove those values against the tensors' commitments."""
    degree = max(1, max(t.degree for t in terms))
    claim = Combination(*terms_of(claim_commitment, 1))
    point: list[int] = []
    for rnd in range(n_vars):
        r, claim = verify_round(ch, degree, claim, f"{label}/round{rnd}")
        point.append(r)
    public_values = {n: public_eval(n, point) for t in terms for n in t.public}
    return point, verify_final(ch, terms, public_values, claim, label)


def verify_round(ch, degree: int, claim: Combination, label: str) -> tuple[int, Combination]:
    """Reads one round's commitments C_1 .. C_d and returns the challenge r with the
    commitment to g(r). C_0 = (claim - C_1 - ... - C_d) / 2 is derived, so g(0) + g(1)
    equals the running claim by construction: g(r) = claim / 2 + sum_k (r^k - 1/2) C_k."""
    coeff_c = [ch.recv_point(f"{label}/c{k}") for k in range(1, degree + 1)]
    r = ch.challenge(f"{label}/r")
    # the running claim nests (halved as a whole), so each round costs O(degree), not O(rounds)
    return r, Combination([claim] + coeff_c, [INV2] + [(pow(r, k, P) - INV2) % P for k in range(1, degree + 1)])


def verify_final(ch, terms: list[Term], public_values: dict[str, int], claim_c,
                 label: str, what: str | None = None) -> dict[str, object]:
    """Reads the committed values at the final point and checks that the terms evaluated
    there equal the running claim; returns {name: value commitment}."""
    evals = {name: ch.recv_point(f"{label}/eval/{name}") for name in committed_names(terms)}
    # the terms' sum minus the claim, kept as a combination for the batched check
    items = [(claim_c, P - 1)]
    for i, t in enumerate(terms):
        scale = t.coef
        for n in t.public:
            scale = scale * public_values[n] % P
        affs = [_affine_commitment(a, evals) for a in t.affines]
        if len(affs) >= 2:
            value_c = _verify_chain(ch, affs, f"{label}/prod{i}", f"{label}: product proof {i} failed")
        elif len(affs) == 1:
            value_c = affs[0]
        else:
            value_c = pedersen.g()
        items.append((value_c, scale))
    points, scalars = [], []
    for x, s in items:
        p, c = terms_of(x, s)
        points += p
        scalars += c
    sigma_verifier.verify_zero(ch, Combination(points, scalars), f"{label}/final",
                               what or f"{label}: final evaluation does not match the sumcheck claim")
    return evals


def _verify_chain(ch, affs: list, label: str, what: str):
    """Reads the committed partial products of k factors and checks each step's proof of
    product (sumcheck_prover._prove_chain); returns the commitment to the whole product."""
    prod = affs[0]
    for j in range(1, len(affs)):
        name = label if j == 1 else f"{label}.{j}"
        cz = ch.recv_point(name)
        sigma_verifier.verify_product(ch, prod, affs[j], cz, f"{name}/pf", what)
        prod = cz
    return prod


def _affine_commitment(a, evals: dict):
    """Commitment to const + sum c_i T_i from the value commitments of the T_i."""
    if a.const == 0 and len(a.parts) == 1 and a.parts[0][1] == 1:
        return evals[a.parts[0][0]]
    return Combination([pedersen.g()] + [evals[n] for n, _ in a.parts], [a.const % P] + [c % P for _, c in a.parts])
