"""The prover's half of the Pedersen commitments (pedersen.py holds the generators, the
layout and the scalar commitment both sides use): fresh blinds and a tensor's row
commitments, with the compiled multi-scalar multiplication of small integers as an optional
speed-up whose results are identical."""
from __future__ import annotations

import os
import secrets

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import P
from zkml.arith.parallel import pmap
from zkml.commitments.pedersen import TensorCommitment, cached, commit_scalar, h_times, layout, vector_generators

# commit_scalar is pedersen.py's (the verifier checks openings with it); it is listed here too
# so that a prover module finds blinds and scalar commitments in one module.
__all__ = ["random_scalar", "commit_scalar", "commit_tensor", "msm_ints", "native_msm_enabled", "native_vector_bases"]


def random_scalar(rng=None) -> int:
    """A uniformly random blinding factor (rng: a `random.Random` for reproducible tests)."""
    if rng is not None:
        return rng.randrange(P)
    return secrets.randbelow(P)


def native_msm_enabled() -> bool:
    """Whether commit_tensor may use the compiled MSM (zkml/arith/g1_native.py): only on the
    arkworks backend (py_ecc stays an independent reference), when the library loads, and
    unless $ZKML_NATIVE_MSM is "0" (read at every call)."""
    if os.environ.get("ZKML_NATIVE_MSM", "1") == "0" or get_backend().name != "arkworks":
        return False
    from zkml.arith import g1_native
    return g1_native.available()


def native_vector_bases(n: int):
    """The first n vector generators in the native kernel's form (g1_native.PreparedBases),
    extended as more are asked for (~1 µs a point)."""
    from zkml.arith import g1_native
    be = get_backend()
    gens = vector_generators(n)
    prepared = cached(be.name + ":vector:native", lambda: g1_native.PreparedBases(b""))
    if len(prepared) < n:
        prepared.extend([be.to_affine_xy(p) for p in gens[len(prepared):]])
    return prepared.prefix(n)


def _native_msm(bases, values: np.ndarray):
    """sum values[j] G_j by the compiled kernel (bases = native_vector_bases(len(values)))."""
    from zkml.arith import g1_native
    be = get_backend()
    xy = g1_native.msm_small(bases, len(values), values)
    return be.identity() if xy is None else be.from_affine_xy_trusted(xy)


def msm_ints(points: list, values: np.ndarray):
    """MSM with small signed integer scalars: positive and negative parts kept small."""
    be = get_backend()
    values = np.asarray(values)
    if values.dtype == object:
        return be.msm(points, [int(v) % P for v in values])
    pos = values > 0
    neg = values < 0
    acc = be.identity()
    if pos.any():
        idx = np.nonzero(pos)[0]
        acc = be.msm([points[i] for i in idx], [int(values[i]) for i in idx])
    if neg.any():
        idx = np.nonzero(neg)[0]
        acc = be.sub(acc, be.msm([points[i] for i in idx], [int(-values[i]) for i in idx]))
    return acc


def commit_tensor(values: np.ndarray, n_vars: int, rng=None,
                  columns: int | None = None) -> tuple[TensorCommitment, list[int]]:
    """Commit a flat tensor of 2^n_vars entries (small ints or field elements) in the model's
    or a proof's layout with rows of 2^columns (pedersen.layout); returns the row blinds."""
    be = get_backend()
    values = np.asarray(values)
    if values.shape != (1 << n_vars,):
        raise ValueError(f"tensor has shape {values.shape}, expected ({1 << n_vars},)")
    a, b = layout(n_vars, columns)
    gens = vector_generators(1 << b)
    matrix = values.reshape(1 << a, 1 << b)
    bases = None  # the compiled MSM's form of gens, when it applies (same group elements)
    if (values.dtype.kind in "iub" and native_msm_enabled()
            and -(1 << 62) < int(values.min()) and int(values.max()) < (1 << 62)):
        bases = native_vector_bases(1 << b)
    blinds = [random_scalar(rng) for _ in range(1 << a)]

    def row(i: int):
        body = msm_ints(gens, matrix[i]) if bases is None else _native_msm(bases, matrix[i])
        return be.add(body, h_times(blinds[i]))
    return TensorCommitment(n_vars, pmap(row, range(1 << a)), columns), blinds
