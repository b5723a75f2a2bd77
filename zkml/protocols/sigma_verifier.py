"""Sigma protocols on Pedersen commitments (Hyrax, Wahby et al. 2018, Appendix A), made
non-interactive by the channel's transcript. This is the verifier's half; sigma_prover.py
holds the provers and simulators (same message order).

- zero:    C = s*h, i.e. C commits to 0 (Schnorr). Proves equalities C1 - C2 between values.
- product: Cz commits to the product of the values in Cx and Cy.
All are special-sound with soundness error 1/r per proof, and honest-verifier zero knowledge
(each has a simulator that needs no valid witness, in sigma_prover.py).
"""
from __future__ import annotations

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
    delta + c Cz = z1 Cy + z5 h  (Cx, Cy, Cz points or Combinations), each a group equation of
    the proof's batch."""
    alpha = ch.recv_point(label + "/alpha")
    beta = ch.recv_point(label + "/beta")
    delta = ch.recv_point(label + "/delta")
    c = ch.challenge(label + "/c")
    z = [ch.recv_scalar(f"{label}/z{i}") for i in range(1, 6)]
    g, h = pedersen.g(), pedersen.h()
    ch.checks.require_zero([(alpha, 1), (cx, c), (g, -z[0]), (h, -z[1])], what + " (first equation)")
    ch.checks.require_zero([(beta, 1), (cy, c), (g, -z[2]), (h, -z[3])], what + " (second equation)")
    ch.checks.require_zero([(delta, 1), (cz, c), (cy, -z[0]), (h, -z[4])], what + " (third equation)")
