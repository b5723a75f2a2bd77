"""Univariate helpers for sumcheck round polynomials (shared by prover and verifier)."""
from __future__ import annotations

from functools import lru_cache

from zkml.arith.field import P, inv


@lru_cache(maxsize=None)
def _lagrange_to_monomial(d: int) -> tuple[tuple[int, ...], ...]:
    """Matrix M with coeffs[j] = sum_i M[j][i] * evals[i], nodes 0..d."""
    cols = []
    for i in range(d + 1):
        # basis_i(X) = prod_{k != i} (X - k) / (i - k)
        poly = [1]
        denom = 1
        for k in range(d + 1):
            if k == i:
                continue
            poly = [((poly[j - 1] if j > 0 else 0) - k * (poly[j] if j < len(poly) else 0)) % P
                    for j in range(len(poly) + 1)]
            denom = denom * (i - k) % P
        scale = inv(denom)
        cols.append([c * scale % P for c in poly])
    return tuple(tuple(cols[i][j] for i in range(d + 1)) for j in range(d + 1))


def coefficients_from_evals(evals: list[int]) -> list[int]:
    m = _lagrange_to_monomial(len(evals) - 1)
    return [sum(m[j][i] * evals[i] for i in range(len(evals))) % P for j in range(len(evals))]

