"""Verifier of the zero-knowledge dot-product argument stated in ipa.py (same message order
as ipa_prover.py): reads the rounds' L, R and the final Schnorr proof, and checks the whole
folded relation with one multi-scalar multiplication."""
from __future__ import annotations

import numpy as np

from zkml.arith.field import P, inv
from zkml.commitments import pedersen
from zkml.commitments.ipa import fold_vector


def fold_coefficients(xs: list[int], n: int) -> np.ndarray:
    """s_i with G* = sum_i s_i G_i: the product over rounds of x^-1 (left half) or x (right)."""
    coeffs = np.ones(1, dtype=object)
    for x in reversed(xs):
        coeffs = np.concatenate((coeffs * inv(x) % P, coeffs * x % P))
    assert len(coeffs) == n
    return coeffs


def verify_dot(ch, t, cv, a: np.ndarray, label: str, what: str) -> None:
    """Checks z1 (G* + a* U) + z2 h = A + c P, where P = T + e Cv + sum_rounds (x^2 L + x^-2 R),
    G* = sum_i s_i G_i and U = e g, as one group equation (batched with the proof's others).
    T and Cv are points or Combinations."""
    n = len(a)
    e = ch.challenge(label + "/e")
    a = [int(x) % P for x in a]
    xs, rounds = [], []
    while len(a) > 1:
        left = ch.recv_point(f"{label}/L")
        right = ch.recv_point(f"{label}/R")
        x = ch.challenge(f"{label}/x")
        xi = inv(x)
        xs.append(x)
        rounds.append((left, x * x % P, right, xi * xi % P))
        a = fold_vector(a, xi, x)
    commit_a = ch.recv_point(label + "/A")
    c = ch.challenge(label + "/c")
    z1 = ch.recv_scalar(label + "/z1")
    z2 = ch.recv_scalar(label + "/z2")
    items = [(pedersen.g(), z1 * a[0] % P * e), (pedersen.h(), z2), (commit_a, P - 1), (t, -c), (cv, -c * e)]
    for left, x2, right, xi2 in rounds:
        items += [(left, -c * x2), (right, -c * xi2)]
    ch.checks.require_zero(items, what, generator_scalars=fold_coefficients(xs, n) * z1 % P)
