"""Provers of the sigma protocols stated in sigma_verifier.py (zero, product), in the same
message order. With ch.simulate set, each runs its honest-verifier simulator instead: fix
the challenge, draw the responses, solve for the first messages (no witness needed)."""
from __future__ import annotations

from zkml.arith.curve import get_backend
from zkml.arith.field import P
from zkml.commitments import pedersen, pedersen_prover


def prove_zero(ch, value: int, blind: int, label: str, rng=None) -> None:
    """C = value*g + blind*h with value = 0 (the honest prover's case)."""
    be = get_backend()
    if ch.simulate:
        c, z = ch.program_challenge(), pedersen_prover.random_scalar(rng)
        statement = pedersen.commit_scalar(value, blind)
        ch.send_point(label + "/T", be.sub(pedersen.h_times(z), be.mul(statement, c)))
        ch.challenge(label + "/c")
        ch.send_scalar(label + "/z", z)
        return
    k = pedersen_prover.random_scalar(rng)
    ch.send_point(label + "/T", pedersen.h_times(k))
    c = ch.challenge(label + "/c")
    ch.send_scalar(label + "/z", (k + c * blind) % P)


def prove_product(ch, x: int, rx: int, y: int, ry: int, z: int, rz: int, label: str, rng=None) -> None:
    """Cx = xg + rx h, Cy = yg + ry h, Cz = zg + rz h with z = xy."""
    be = get_backend()
    cy = pedersen.commit_scalar(y, ry)
    if ch.simulate:
        c = ch.program_challenge()
        zs = [pedersen_prover.random_scalar(rng) for _ in range(5)]
        cx, cz = pedersen.commit_scalar(x, rx), pedersen.commit_scalar(z, rz)
        ch.send_point(label + "/alpha", be.sub(pedersen.commit_scalar(zs[0], zs[1]), be.mul(cx, c)))
        ch.send_point(label + "/beta", be.sub(pedersen.commit_scalar(zs[2], zs[3]), be.mul(cy, c)))
        ch.send_point(label + "/delta", be.sub(be.add(be.mul(cy, zs[0]), pedersen.h_times(zs[4])),
                                               be.mul(cz, c)))
        ch.challenge(label + "/c")
        for i, v in enumerate(zs, start=1):
            ch.send_scalar(f"{label}/z{i}", v)
        return
    b = [pedersen_prover.random_scalar(rng) for _ in range(5)]
    ch.send_point(label + "/alpha", pedersen.commit_scalar(b[0], b[1]))
    ch.send_point(label + "/beta", pedersen.commit_scalar(b[2], b[3]))
    ch.send_point(label + "/delta", be.add(be.mul(cy, b[0]), pedersen.h_times(b[4])))
    c = ch.challenge(label + "/c")
    for name, val in (("z1", b[0] + c * x), ("z2", b[1] + c * rx), ("z3", b[2] + c * y),
                      ("z4", b[3] + c * ry), ("z5", b[4] + c * (rz - x * ry))):
        ch.send_scalar(f"{label}/{name}", val % P)
