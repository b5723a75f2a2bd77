"""Prover of the zero-knowledge dot-product argument (ipa.py states it; ipa_verifier.py
checks it): one pair of cross-term commitments L, R per halving round, then a Schnorr proof
on the folded base. With ch.simulate it is the honest-verifier simulator instead."""
from __future__ import annotations

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import P, inv
from zkml.arith.frvec import FrVec
from zkml.arith.parallel import pmap
from zkml.commitments import pedersen, pedersen_prover


def _generator_msm(gens: list):
    """sum_i s_i G_i over the first len(gens) vector generators, for a FrVec s: by the compiled
    kernel when the prover may use it (pedersen_prover.native_msm_enabled; same group element),
    else the backend."""
    be = get_backend()
    if not pedersen_prover.native_msm_enabled():
        return lambda scalars: be.msm(gens, [int(v) for v in scalars.to_ints()])
    from zkml.arith import g1_native
    bases = pedersen_prover.native_vector_bases(len(gens))

    def native(scalars):
        xy = g1_native.msm_full_le(bases, scalars.to_le_bytes(), len(scalars))
        return be.identity() if xy is None else be.from_affine_xy_trusted(xy)
    return native


def _fold(v, lo_factor: int, hi_factor: int):
    """lo_factor v_L + hi_factor v_R (ipa.fold_vector) on a FrVec."""
    return v.lo().scale(lo_factor).add(v.hi().scale(hi_factor))


def prove_dot(ch, w: np.ndarray, rho_t: int, a: np.ndarray, v: int, rv: int, label: str,
              rng=None, t_point=None) -> None:
    """The prover (or, with ch.simulate, the simulator, which gets T as t_point)."""
    be = get_backend()
    n = len(a)
    gens = pedersen.vector_generators(n)
    e = ch.challenge(label + "/e")
    u = pedersen.g_times(e)
    w = FrVec.from_ints(np.array([int(x) % P for x in w], dtype=object))
    a = FrVec.from_ints(np.array([int(x) % P for x in a], dtype=object))
    s = (rho_t + e * rv) % P
    # The folded generators are never formed: with m entries left, the current generator j is
    # sum_k block[k] G_(k m + j) over the original ones, block[k] the product of the challenges
    # (x or 1/x) that k's bits chose. One MSM over the original generators per round (b 2^b
    # terms in all) is cheaper than folding them (2^(b+1) scalar multiplications).
    block = FrVec.from_ints(np.ones(1, dtype=np.int64))
    msm_gens = _generator_msm(gens)
    xs = []
    if ch.simulate:
        p_point = be.add(t_point, be.mul(pedersen.commit_scalar(v, rv), e))
    while len(w) > 1:
        m = len(w)
        half = m // 2
        if ch.simulate:
            left = be.add(pedersen.h_times(pedersen_prover.random_scalar(rng)),
                          be.mul(u, pedersen_prover.random_scalar(rng)))
            right = be.add(pedersen.h_times(pedersen_prover.random_scalar(rng)),
                           be.mul(u, pedersen_prover.random_scalar(rng)))
        else:
            s_l, s_r = pedersen_prover.random_scalar(rng), pedersen_prover.random_scalar(rng)
            # L: the folded generators' upper half weighted by w's lower half (and R the
            # reverse), written over the original generators: block[k] w[j - half] on G_(k m + j)
            # for j >= half (zero elsewhere), and block[k] w[j + half] for j < half
            zeros = FrVec.from_ints(np.zeros(half, dtype=np.int64))
            per_block = block.take(np.repeat(np.arange(n // m), m))
            within = np.tile(np.arange(m), n // m)
            hi = per_block.mul(FrVec.concat([zeros, w.lo()]).take(within))
            lo = per_block.mul(FrVec.concat([w.hi(), zeros]).take(within))
            extra = ([w.lo().dot(a.hi()), s_l], [w.hi().dot(a.lo()), s_r])
            left, right = pmap(lambda job: be.add(msm_gens(job[0]), be.msm([u, pedersen.h()], job[1])),
                               list(zip((hi, lo), extra)))   # the two MSMs side by side
        ch.send_point(f"{label}/L", left)
        ch.send_point(f"{label}/R", right)
        x = ch.challenge(f"{label}/x")
        xi = inv(x)
        xs.append(x)
        if ch.simulate:
            p_point = be.add(be.add(be.mul(left, x * x % P), p_point), be.mul(right, xi * xi % P))
        else:
            s = (x * x * s_l + s + xi * xi * s_r) % P
        w = _fold(w, x, xi)
        a = _fold(a, xi, x)
        # the generators j < half took 1/x, j >= half took x: block k splits into 2k, 2k + 1
        k = len(block)
        block = FrVec.concat([block.scale(xi), block.scale(x)]).take(np.arange(2 * k).reshape(2, k).T.ravel())
    base = be.add(msm_gens(block), be.mul(u, int(a.to_ints()[0])))
    w0 = int(w.to_ints()[0])
    if ch.simulate:
        c = ch.program_challenge()
        z1, z2 = pedersen_prover.random_scalar(rng), pedersen_prover.random_scalar(rng)
        ch.send_point(label + "/A", be.sub(be.add(be.mul(base, z1), pedersen.h_times(z2)), be.mul(p_point, c)))
        ch.challenge(label + "/c")
    else:
        k1, k2 = pedersen_prover.random_scalar(rng), pedersen_prover.random_scalar(rng)
        ch.send_point(label + "/A", be.add(be.mul(base, k1), pedersen.h_times(k2)))
        c = ch.challenge(label + "/c")
        z1, z2 = (k1 + c * w0) % P, (k2 + c * s) % P
    ch.send_scalar(label + "/z1", z1)
    ch.send_scalar(label + "/z2", z2)
