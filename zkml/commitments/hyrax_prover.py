"""Prover of the zero-knowledge evaluation proofs for Hyrax-committed tensors (hyrax.py
states them; hyrax_verifier.py checks them): combine the tensors by a challenge, compute
w = L^T M and its blind, and prove <w, R> = v by the dot-product argument."""
from __future__ import annotations

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import N_LIMBS, P, limb_sums, limbs_to_field
from zkml.commitments import ipa_prover
from zkml.commitments.hyrax import eq_halves


# Each tensor's limb sums are below 2^53 in absolute value (field.limb_sums): this many of them,
# and the carries limbs_to_field adds, stay inside int64.
PARTS_PER_FLUSH = ((1 << 63) - (1 << 48)) // (1 << 53)


def prove_batch_eval(ch, items: list[tuple], point: list[int], label: str, rng=None,
                     columns: int | None = None) -> None:
    """items: (values, row_blinds, claimed value, value_blind, TensorCommitment) per tensor.
    Model tensors (columns None) have len(point) variables; witness tensors (rows of
    2^columns) may have fewer, and are opened as their zero-prefix embeddings (hyrax.py). (The commitment is only read by the simulator.)"""
    rho = ch.challenge(label + "/rho")
    left, right = eq_halves(point, columns)
    # w = sum_t rho^t L^T M_t: integer tensors as exact int64 limb sums of (rho^t L)^T M_t,
    # turned into field elements once (field.limb_sums); field-valued ones directly
    w = np.zeros(len(right), dtype=object)
    sums = np.zeros((N_LIMBS, len(right)), dtype=np.int64)
    rho_t, rv, v, coef, pending = 0, 0, 0, 1, 0
    be = get_backend()
    t_point = be.identity()
    for values, row_blinds, value, value_blind, tc in items:
        values = np.asarray(values)
        n_rows = len(row_blinds)
        matrix = values.reshape(n_rows, -1)
        assert n_rows <= len(left) and matrix.shape[1] <= len(right), "a tensor larger than the opening"
        scaled = left[:n_rows] * coef % P
        part = None if values.dtype == object else limb_sums(scaled, matrix)
        if part is None:
            w_t = (scaled @ matrix.astype(object)) % P
            w[:len(w_t)] = (w[:len(w_t)] + w_t) % P
        else:
            sums[:, :part.shape[1]] += part
            pending += 1
            if pending == PARTS_PER_FLUSH:
                w, sums, pending = (w + limbs_to_field(sums)) % P, np.zeros_like(sums), 0
        rho_t = (rho_t + coef * int(np.dot(left[:n_rows], np.array(row_blinds, dtype=object)) % P)) % P
        rv = (rv + coef * value_blind) % P
        v = (v + coef * value) % P
        if ch.simulate:
            t_point = be.add(t_point, be.msm(tc.rows, [coef * int(x) % P for x in left[:n_rows]]))
        coef = coef * rho % P
    w = (w + limbs_to_field(sums)) % P
    ipa_prover.prove_dot(ch, w, rho_t, right, v, rv, label + "/dot", rng, t_point)
