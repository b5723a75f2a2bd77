"""Verifier of the zero-knowledge dot-product argument stated in ipa.py (same message order
as ipa_prover.py): reads the rounds' L, R and the final Schnorr proof, and checks the whole
folded relation with one multi-scalar multiplication."""
from __future__ import annotations

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import P, inv
from zkml.commitments import pedersen
from zkml.commitments.ipa import fold_vector
from zkml.errors import VerificationError


def fold_coefficients(xs: list[int], n: int) -> list[int]:
    """s_i with G* = sum_i s_i G_i: the product over rounds of x^-1 (left half) or x (right)."""
    coeffs = [1]
    for x in reversed(xs):
        xi = inv(x)
        coeffs = [c * xi % P for c in coeffs] + [c * x % P for c in coeffs]
    assert len(coeffs) == n
    return coeffs


def verify_dot(ch, t, cv, a: np.ndarray, label: str, what: str) -> None:
    """Checks, with one MSM: z1 (G* + a* U) + z2 h = A + c P, where
    P = T + e Cv + sum_rounds (x^2 L + x^-2 R), G* = sum_i s_i G_i and U = e g."""
    be = get_backend()
    n = len(a)
    gens = pedersen.vector_generators(n)
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
    points = list(gens) + [pedersen.g(), pedersen.h(), commit_a, t, cv]
    scalars = [z1 * s % P for s in fold_coefficients(xs, n)]
    scalars += [z1 * a[0] % P * e % P, z2, P - 1, (-c) % P, (-c * e) % P]
    for left, x2, right, xi2 in rounds:
        points += [left, right]
        scalars += [(-c * x2) % P, (-c * xi2) % P]
    if not be.is_identity(be.msm(points, scalars)):
        raise VerificationError(what)
