"""Sigma protocols on Pedersen commitments (Hyrax, Wahby et al. 2018, Appendix A), made
non-interactive by the channel's transcript. This is the verifier's half; sigma_prover.py
holds the provers and simulators (same message order).

- zero:    C = s*h, i.e. C commits to 0 (Schnorr). Proves equalities C1 - C2 between values.
- product: Cz commits to the product of the values in Cx and Cy.
All are special-sound with soundness error 1/r per proof, and honest-verifier zero knowledge
(each has a simulator that needs no valid witness, in sigma_prover.py).
"""
from __future__ import annotations

import secrets

from zkml.arith.field import P
from zkml.commitments import pedersen


def verify_zero(ch, commitment, label: str, what: str) -> None:
    """commitment (a point or a Combination) commits to 0: z h = T + c C."""
    t = ch.recv_point(label + "/T")
    c = ch.challenge(label + "/c")
    z = ch.recv_scalar(label + "/z")
    ch.checks.require_zero([(pedersen.h(), z), (t, P - 1), (commitment, -c)], what)


def verify_product(ch, cx, cy, cz, label: str, what: str) -> None:
    """The three equations  alpha + c Cx = z1 g + z2 h,  beta + c Cy = z3 g + z4 h,
    delta + c Cz = z1 Cy + z5 h  checked as one: their sum with independent random 128-bit
    weights of the verifier's own is the identity (a false equation survives with probability
    2^-128). Cx, Cy, Cz are points or Combinations."""
    alpha = ch.recv_point(label + "/alpha")
    beta = ch.recv_point(label + "/beta")
    delta = ch.recv_point(label + "/delta")
    c = ch.challenge(label + "/c")
    z = [ch.recv_scalar(f"{label}/z{i}") for i in range(1, 6)]
    w1, w2, w3 = (secrets.randbits(128) | 1 for _ in range(3))
    ch.checks.require_zero([(alpha, w1), (cx, w1 * c), (beta, w2), (cy, w2 * c - w3 * z[0]), (delta, w3),
                            (cz, w3 * c), (pedersen.g(), -(w1 * z[0] + w2 * z[2])),
                            (pedersen.h(), -(w1 * z[1] + w2 * z[3] + w3 * z[4]))], what)
