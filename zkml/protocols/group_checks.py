"""The verifier's group equations, checked together at the end (docs/protocol.md §5, "Batch
verification and the cofactor").

Every check of a proof is an equation sum_i s_i P_i = O in the curve group. In a batch, each
is recorded with a random 128-bit weight of the verifier's own (drawn after the proof is
fixed, never from the transcript), and the verifier computes Y = sum_j w_j sum_i s_ij P_ij
with one multi-scalar multiplication over the distinct points, the vector generators' scalars
summed first. It accepts iff [h1] Y = O, h1 the cofactor of G1: that is, iff the equations hold
for the points' components in the prime-order subgroup G, which is all soundness needs (points
are decoded with the curve check only). A false equation survives with probability at most
2^-128. When the batch fails, or another check fails later, the checks are evaluated one by one
in their order, so the reason given is the first failing check's, as if each had been checked
when it was recorded.
"""
from __future__ import annotations

import secrets

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import P
from zkml.commitments import pedersen
from zkml.errors import VerificationError

# #E(F_p) = H1 * r for BLS12-381's G1 (gcd(H1, r) = 1): [H1] Y = O iff Y has no component in G.
H1 = 0x396C8C005555E1568C00AAAB0000AAAB
WEIGHT_BITS = 128


class Combination:
    """A point sum_i s_i P_i kept as its terms, computed by one MSM when needed, or folded
    into a batched check (a sumcheck's running claim, a row combination of a tensor)."""

    def __init__(self, points: list, scalars: list[int]) -> None:
        self.points, self.scalars = points, scalars

    def value(self):
        return get_backend().msm(*terms(self, 1))


def terms(x, scale: int) -> tuple[list, list[int]]:
    """(points, scalars) of scale * x, x a point or a Combination (of points or Combinations)."""
    if not isinstance(x, Combination):
        return [x], [scale % P]
    points, scalars = [], []
    for pt, s in zip(x.points, x.scalars, strict=True):
        p, c = terms(pt, scale * s)
        points += p
        scalars += c
    return points, scalars


def times(point, k: int):
    """[k] point by doubling and adding: exact for any point of E(F_p), whatever a backend's
    scalar multiplication assumes about its input (k is not reduced mod r)."""
    be = get_backend()
    acc = be.identity()
    for bit in bin(k)[2:]:
        acc = be.add(acc, acc)
        if bit == "1":
            acc = be.add(acc, point)
    return acc


def in_torsion(point) -> bool:
    """True iff point's component in the prime-order subgroup is O."""
    return get_backend().is_identity(times(point, H1))


def in_subgroup(point) -> bool:
    """True iff point lies in the prime-order subgroup G ([r] point = O): the platform's check
    of uploaded commitments, which keeps one encoding per commitment."""
    return get_backend().is_identity(times(point, P))


class GroupChecks:
    """batch=False checks each equation when it is recorded (a channel used on its own);
    batch=True records them until verify()."""

    def __init__(self, batch: bool = False) -> None:
        self.batch = batch
        self.prefix = ""          # put before each reason (a shard's place in a sharded proof)
        self._checks: list[tuple[list, list[int], np.ndarray | None, str]] = []

    def require_zero(self, items: list[tuple[object, int]], what: str,
                     generator_scalars: np.ndarray | None = None) -> None:
        """Require sum s X = O over items (X a point or a Combination, s a scalar), plus
        sum_i generator_scalars[i] G_i over the first vector generators when given."""
        points, scalars = [], []
        for x, s in items:
            p, c = terms(x, s)
            points += p
            scalars += c
        gens = None if generator_scalars is None else np.asarray(generator_scalars, dtype=object)
        check = (points, scalars, gens, self.prefix + what)
        if self.batch:
            self._checks.append(check)
        elif not _holds(check):
            raise VerificationError(check[3])

    def raise_first_failure(self) -> None:
        """Raises the first recorded check that does not hold (if any), in recording order:
        a binary search over prefixes of the batch (about twice one batch's work)."""
        if _all_hold(self._checks):
            return
        good, bad = 0, len(self._checks)       # checks[:good] hold, checks[:bad] do not
        while bad - good > 1:
            mid = (good + bad) // 2
            if _all_hold(self._checks[:mid]):
                good = mid
            else:
                bad = mid
        raise VerificationError(self._checks[bad - 1][3])

    def verify(self) -> None:
        """Checks every recorded equation at once; raises the first false one's reason."""
        if not _all_hold(self._checks):
            self.raise_first_failure()
            raise VerificationError(self.prefix + "the batched group equations do not hold")
        self._checks.clear()


def _all_hold(checks: list) -> bool:
    """Every equation in checks, by one MSM of their sum with random weights (error 2^-128)."""
    if not checks:
        return True
    bases: dict[int, list] = {}
    n_gens = max((len(c[2]) for c in checks if c[2] is not None), default=0)
    gen_scalars = np.zeros(n_gens, dtype=object)
    for points, scalars, gens, _ in checks:
        w = secrets.randbits(WEIGHT_BITS)
        for pt, s in zip(points, scalars, strict=True):
            entry = bases.get(id(pt))
            if entry is None:
                bases[id(pt)] = [pt, w * s % P]
            else:
                entry[1] = (entry[1] + w * s) % P
        if gens is not None:
            gen_scalars[:len(gens)] = (gen_scalars[:len(gens)] + gens * w) % P
    points = [pt for pt, _ in bases.values()] + pedersen.vector_generators(n_gens)
    scalars = [s for _, s in bases.values()] + list(gen_scalars)
    return in_torsion(get_backend().msm(points, scalars))


def _holds(check) -> bool:
    points, scalars, gens, _ = check
    if gens is not None:
        points = points + pedersen.vector_generators(len(gens))
        scalars = scalars + [int(s) for s in gens]
    return in_torsion(get_backend().msm(points, scalars))
