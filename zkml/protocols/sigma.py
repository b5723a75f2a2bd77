"""Sigma protocols on Pedersen commitments (Hyrax, Wahby et al. 2018, Appendix A), made
non-interactive by the channel's transcript. Each has a prove_ and a verify_ function.

- zero:    C = s*h, i.e. C commits to 0 (Schnorr). Proves equalities C1 - C2 between values.
- product: Cz commits to the product of the values in Cx and Cy.
All are special-sound with soundness error 1/r per proof, and honest-verifier zero knowledge:
with ch.simulate set, each prove_ function runs its simulator instead (fix the challenge,
draw the responses, solve for the first messages), which needs no valid witness.
"""
from __future__ import annotations

import secrets

from zkml.commitments import pedersen
from zkml.arith.curve import get_backend
from zkml.errors import VerificationError
from zkml.arith.field import P

def prove_zero(ch, value: int, blind: int, label: str, rng=None) -> None:
    """C = value*g + blind*h with value = 0 (the honest prover's case)."""
    be = get_backend()
    if ch.simulate:
        c, z = ch.program_challenge(), pedersen.random_scalar(rng)
        statement = pedersen.commit_scalar(value, blind)
        ch.send_point(label + "/T", be.sub(pedersen.h_times(z), be.mul(statement, c)))
        ch.challenge(label + "/c")
        ch.send_scalar(label + "/z", z)
        return
    k = pedersen.random_scalar(rng)
    ch.send_point(label + "/T", pedersen.h_times(k))
    c = ch.challenge(label + "/c")
    ch.send_scalar(label + "/z", (k + c * blind) % P)

def verify_zero(ch, commitment, label: str, what: str) -> None:
    be = get_backend()
    t = ch.recv_point(label + "/T")
    c = ch.challenge(label + "/c")
    z = ch.recv_scalar(label + "/z")
    if not be.eq(pedersen.h_times(z), be.add(t, be.mul(commitment, c))):
        raise VerificationError(what)

def prove_product(ch, x: int, rx: int, y: int, ry: int, z: int, rz: int, label: str, rng=None) -> None:
    """Cx = xg + rx h, Cy = yg + ry h, Cz = zg + rz h with z = xy."""
    be = get_backend()
    cy = pedersen.commit_scalar(y, ry)
    if ch.simulate:
        c = ch.program_challenge()
        zs = [pedersen.random_scalar(rng) for _ in range(5)]
        cx, cz = pedersen.commit_scalar(x, rx), pedersen.commit_scalar(z, rz)
        ch.send_point(label + "/alpha", be.sub(pedersen.commit_scalar(zs[0], zs[1]), be.mul(cx, c)))
        ch.send_point(label + "/beta", be.sub(pedersen.commit_scalar(zs[2], zs[3]), be.mul(cy, c)))
        ch.send_point(label + "/delta", be.sub(be.add(be.mul(cy, zs[0]), pedersen.h_times(zs[4])),
                                               be.mul(cz, c)))
        ch.challenge(label + "/c")
        for i, v in enumerate(zs, start=1):
            ch.send_scalar(f"{label}/z{i}", v)
        return
    b = [pedersen.random_scalar(rng) for _ in range(5)]
    ch.send_point(label + "/alpha", pedersen.commit_scalar(b[0], b[1]))
    ch.send_point(label + "/beta", pedersen.commit_scalar(b[2], b[3]))
    ch.send_point(label + "/delta", be.add(be.mul(cy, b[0]), pedersen.h_times(b[4])))
    c = ch.challenge(label + "/c")
    for name, val in (("z1", b[0] + c * x), ("z2", b[1] + c * rx), ("z3", b[2] + c * y),
                      ("z4", b[3] + c * ry), ("z5", b[4] + c * (rz - x * ry))):
        ch.send_scalar(f"{label}/{name}", val % P)

def verify_product(ch, cx, cy, cz, label: str, what: str) -> None:
    """The three equations  alpha + c Cx = z1 g + z2 h,  beta + c Cy = z3 g + z4 h,
    delta + c Cz = z1 Cy + z5 h  checked at once: their sum with independent random 128-bit
    weights of the verifier's own is the identity (one MSM; a false equation survives with
    probability 2^-128)."""
    be = get_backend()
    alpha = ch.recv_point(label + "/alpha")
    beta = ch.recv_point(label + "/beta")
    delta = ch.recv_point(label + "/delta")
    c = ch.challenge(label + "/c")
    z = [ch.recv_scalar(f"{label}/z{i}") for i in range(1, 6)]
    w1, w2, w3 = (secrets.randbits(128) | 1 for _ in range(3))
    points = [alpha, cx, beta, cy, delta, cz, pedersen.g(), pedersen.h()]
    scalars = [w1, w1 * c, w2, w2 * c - w3 * z[0], w3, w3 * c,
               -(w1 * z[0] + w2 * z[2]), -(w1 * z[1] + w2 * z[3] + w3 * z[4])]
    if not be.is_identity(be.msm(points, [x % P for x in scalars])):
        raise VerificationError(what)
