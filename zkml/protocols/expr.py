"""Shapes of the polynomials that sumchecks prove (shared by prover and verifier).

A sumcheck proves  sum_x sum_terms coef * prod(public_k(x)) * prod(affine_j(x)) = claim,
where public tables are computable by the verifier and each affine is
const + sum_i c_i * T_i(x) over committed tensors T_i. A term with k >= 2 affines needs k - 1
proofs of product at the end (a chain of committed partial products).
"""
from __future__ import annotations

from dataclasses import dataclass

from zkml.arith.field import P


@dataclass(frozen=True)
class Affine:
    parts: tuple[tuple[str, int], ...]
    const: int = 0

    def names(self) -> list[str]:
        return [n for n, _ in self.parts]


def aff(*parts: tuple[str, int] | str, const: int = 0) -> Affine:
    """aff("Q", ("A", 5), const=3) is Q + 5A + 3."""
    norm = tuple((p, 1) if isinstance(p, str) else (p[0], p[1] % P) for p in parts)
    return Affine(norm, const % P)


@dataclass(frozen=True)
class Term:
    coef: int
    public: tuple[str, ...] = ()
    affines: tuple[Affine, ...] = ()

    @property
    def degree(self) -> int:
        return len(self.public) + len(self.affines)


def committed_names(terms: list[Term]) -> list[str]:
    return sorted({n for t in terms for a in t.affines for n in a.names()})



def fraction_layer_terms(lam: int) -> list[Term]:
    """The polynomial of one layer's sumcheck in the lookup argument's fraction tree
    (logup_prover / logup_verifier): eq(rho, x) [p0 q1 + p1 q0 + lam q0 q1] sums to P + lam Q."""
    return [Term(1, ("eq",), (aff("p0"), aff("q1"))), Term(1, ("eq",), (aff("p1"), aff("q0"))),
            Term(lam % P, ("eq",), (aff("q0"), aff("q1")))]
