"""Zero-knowledge proof of a dot product with logarithmic communication (Bulletproofs'
inner-product argument, Bünz et al. 2018 §3, with the blinding of Hyrax Appendix A).

Statement: T = <w, G> + rho h and Cv = v g + rv h with v = <w, a> for a public vector a.
A challenge e folds both into P = T + e Cv = <w, G> + <w, a> U + s h with U = e g. Each
round halves the vectors: L = <w_L, G_R> + <w_L, a_R> U + sL h, R = <w_R, G_L> + <w_R, a_L> U
+ sR h, then w' = x w_L + x^-1 w_R, G' = x^-1 G_L + x G_R, a' = x^-1 a_L + x a_R and
P' = x^2 L + P + x^-2 R. A final Schnorr proof on the base G* + a* U and h shows knowledge of
(w*, s*). Soundness: special soundness per round (error <= 3/r each) under discrete log.
"""
from __future__ import annotations

import numpy as np

from zkml.commitments import pedersen
from zkml.arith.curve import get_backend
from zkml.errors import VerificationError
from zkml.arith.field import P, inv
from zkml.arith.parallel import pmap


def _fold_coefficients(xs: list[int], n: int) -> list[int]:
    """s_i with G* = sum_i s_i G_i: the product over rounds of x^-1 (left half) or x (right)."""
    coeffs = [1]
    for x in reversed(xs):
        xi = inv(x)
        coeffs = [c * xi % P for c in coeffs] + [c * x % P for c in coeffs]
    assert len(coeffs) == n
    return coeffs


def _fold_vector(v: list[int], lo_factor: int, hi_factor: int) -> list[int]:
    half = len(v) // 2
    return [(lo_factor * v[i] + hi_factor * v[half + i]) % P for i in range(half)]


def prove_dot(ch, w: np.ndarray, rho_t: int, a: np.ndarray, v: int, rv: int, label: str,
              rng=None, t_point=None) -> None:
    """The prover (or, with ch.simulate, the simulator, which gets T as t_point)."""
    be = get_backend()
    n = len(a)
    gens = pedersen.vector_generators(n)
    e = ch.challenge(label + "/e")
    u = pedersen.g_times(e)
    w = [int(x) % P for x in w]
    a = [int(x) % P for x in a]
    s = (rho_t + e * rv) % P
    block = [1] * n   # coefficient of each original generator in the current folded ones
    # Rust backend: one MSM over original generators per round is cheaper than folding them.
    folded = list(gens) if be.name == "py_ecc" and not ch.simulate else None
    xs = []
    if ch.simulate:
        p_point = be.add(t_point, be.mul(pedersen.commit_scalar(v, rv), e))
    while len(w) > 1:
        m = len(w)
        half = m // 2
        # the current generator j is sum over original i with i % m == j of block[i] G_i
        if ch.simulate:
            left = be.add(pedersen.h_times(pedersen.random_scalar(rng)), be.mul(u, pedersen.random_scalar(rng)))
            right = be.add(pedersen.h_times(pedersen.random_scalar(rng)), be.mul(u, pedersen.random_scalar(rng)))
        elif folded is not None:
            # Pure-Python backend: keep the folded generators (2n scalar multiplications in all).
            s_l, s_r = pedersen.random_scalar(rng), pedersen.random_scalar(rng)
            left = be.add(be.msm(folded[half:], w[:half]),
                          be.add(be.mul(u, sum(w[j] * a[half + j] for j in range(half)) % P), pedersen.h_times(s_l)))
            right = be.add(be.msm(folded[:half], w[half:]),
                           be.add(be.mul(u, sum(w[half + j] * a[j] for j in range(half)) % P), pedersen.h_times(s_r)))
        else:
            s_l, s_r = pedersen.random_scalar(rng), pedersen.random_scalar(rng)
            hi_idx = [i for i in range(n) if i % m >= half]
            lo_idx = [i for i in range(n) if i % m < half]
            hh = pedersen.h()
            jobs = [([gens[i] for i in hi_idx] + [u, hh],
                     [w[i % m - half] * block[i] % P for i in hi_idx]
                     + [sum(w[j] * a[half + j] for j in range(half)) % P, s_l]),
                    ([gens[i] for i in lo_idx] + [u, hh],
                     [w[half + i % m] * block[i] % P for i in lo_idx]
                     + [sum(w[half + j] * a[j] for j in range(half)) % P, s_r])]
            left, right = pmap(lambda job: be.msm(*job), jobs)   # the two MSMs side by side
        ch.send_point(f"{label}/L", left)
        ch.send_point(f"{label}/R", right)
        x = ch.challenge(f"{label}/x")
        xi = inv(x)
        xs.append(x)
        if ch.simulate:
            p_point = be.add(be.add(be.mul(left, x * x % P), p_point), be.mul(right, xi * xi % P))
        else:
            s = (x * x * s_l + s + xi * xi * s_r) % P
        w = _fold_vector(w, x, xi)
        a = _fold_vector(a, xi, x)
        if folded is not None:
            folded = [be.add(be.mul(folded[j], xi), be.mul(folded[half + j], x)) for j in range(half)]
        else:
            block = [c * (xi if i % m < half else x) % P for i, c in enumerate(block)]
    base = be.add(folded[0] if folded is not None else be.msm(gens, block), be.mul(u, a[0]))
    if ch.simulate:
        c = ch.program_challenge()
        z1, z2 = pedersen.random_scalar(rng), pedersen.random_scalar(rng)
        ch.send_point(label + "/A", be.sub(be.add(be.mul(base, z1), pedersen.h_times(z2)), be.mul(p_point, c)))
        ch.challenge(label + "/c")
    else:
        k1, k2 = pedersen.random_scalar(rng), pedersen.random_scalar(rng)
        ch.send_point(label + "/A", be.add(be.mul(base, k1), pedersen.h_times(k2)))
        c = ch.challenge(label + "/c")
        z1, z2 = (k1 + c * w[0]) % P, (k2 + c * s) % P
    ch.send_scalar(label + "/z1", z1)
    ch.send_scalar(label + "/z2", z2)


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
        a = _fold_vector(a, xi, x)
    commit_a = ch.recv_point(label + "/A")
    c = ch.challenge(label + "/c")
    z1 = ch.recv_scalar(label + "/z1")
    z2 = ch.recv_scalar(label + "/z2")
    points = list(gens) + [pedersen.g(), pedersen.h(), commit_a, t, cv]
    scalars = [z1 * s % P for s in _fold_coefficients(xs, n)]
    scalars += [z1 * a[0] % P * e % P, z2, P - 1, (-c) % P, (-c * e) % P]
    for left, x2, right, xi2 in rounds:
        points += [left, right]
        scalars += [(-c * x2) % P, (-c * xi2) % P]
    if not be.is_identity(be.msm(points, scalars)):
        raise VerificationError(what)
