"""Prover of the zero-knowledge dot-product argument (ipa.py states it; ipa_verifier.py
checks it): one pair of cross-term commitments L, R per halving round, then a Schnorr proof
on the folded base. With ch.simulate it is the honest-verifier simulator instead."""
from __future__ import annotations

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import P, inv
from zkml.arith.parallel import pmap
from zkml.commitments import pedersen, pedersen_prover
from zkml.commitments.ipa import fold_vector


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
            left = be.add(pedersen.h_times(pedersen_prover.random_scalar(rng)),
                          be.mul(u, pedersen_prover.random_scalar(rng)))
            right = be.add(pedersen.h_times(pedersen_prover.random_scalar(rng)),
                           be.mul(u, pedersen_prover.random_scalar(rng)))
        elif folded is not None:
            # Pure-Python backend: keep the folded generators (2n scalar multiplications in all).
            s_l, s_r = pedersen_prover.random_scalar(rng), pedersen_prover.random_scalar(rng)
            left = be.add(be.msm(folded[half:], w[:half]),
                          be.add(be.mul(u, sum(w[j] * a[half + j] for j in range(half)) % P), pedersen.h_times(s_l)))
            right = be.add(be.msm(folded[:half], w[half:]),
                           be.add(be.mul(u, sum(w[half + j] * a[j] for j in range(half)) % P), pedersen.h_times(s_r)))
        else:
            s_l, s_r = pedersen_prover.random_scalar(rng), pedersen_prover.random_scalar(rng)
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
        w = fold_vector(w, x, xi)
        a = fold_vector(a, xi, x)
        if folded is not None:
            folded = [be.add(be.mul(folded[j], xi), be.mul(folded[half + j], x)) for j in range(half)]
        else:
            block = [c * (xi if i % m < half else x) % P for i, c in enumerate(block)]
    base = be.add(folded[0] if folded is not None else be.msm(gens, block), be.mul(u, a[0]))
    if ch.simulate:
        c = ch.program_challenge()
        z1, z2 = pedersen_prover.random_scalar(rng), pedersen_prover.random_scalar(rng)
        ch.send_point(label + "/A", be.sub(be.add(be.mul(base, z1), pedersen.h_times(z2)), be.mul(p_point, c)))
        ch.challenge(label + "/c")
    else:
        k1, k2 = pedersen_prover.random_scalar(rng), pedersen_prover.random_scalar(rng)
        ch.send_point(label + "/A", be.add(be.mul(base, k1), pedersen.h_times(k2)))
        c = ch.challenge(label + "/c")
        z1, z2 = (k1 + c * w[0]) % P, (k2 + c * s) % P
    ch.send_scalar(label + "/z1", z1)
    ch.send_scalar(label + "/z2", z2)
