"""Prover of the zero-knowledge evaluation proofs for Hyrax-committed tensors (hyrax.py
states them; hyrax_verifier.py checks them): combine the tensors by a challenge, compute
w = L^T M and its blind, and prove <w, R> = v by the dot-product argument."""
from __future__ import annotations

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import P, field_vec_times_int_matrix
from zkml.commitments import ipa_prover
from zkml.commitments.hyrax import eq_halves


def prove_batch_eval(ch, items: list[tuple], point: list[int], label: str, rng=None) -> None:
    """items: (values, row_blinds, claimed value, value_blind, TensorCommitment) per tensor,
    all with len(point) variables. (The commitment is only read by the simulator.)"""
    rho = ch.challenge(label + "/rho")
    left, right = eq_halves(point)
    n_rows, n_cols = len(left), len(right)
    w = np.zeros(n_cols, dtype=object)
    rho_t, rv, v, coef = 0, 0, 0, 1
    be = get_backend()
    t_point = be.identity()
    for values, row_blinds, value, value_blind, tc in items:
        values = np.asarray(values)
        matrix = values.reshape(n_rows, n_cols)
        if values.dtype == object:
            w_t = (left @ matrix) % P
        else:
            w_t = field_vec_times_int_matrix(left, matrix)
        w = (w + w_t * coef) % P
        rho_t = (rho_t + coef * int(np.dot(left, np.array(row_blinds, dtype=object)) % P)) % P
        rv = (rv + coef * value_blind) % P
        v = (v + coef * value) % P
        if ch.simulate:
            t_point = be.add(t_point, be.msm(tc.rows, [coef * int(x) % P for x in left]))
        coef = coef * rho % P
    ipa_prover.prove_dot(ch, w, rho_t, right, v, rv, label + "/dot", rng, t_point)
