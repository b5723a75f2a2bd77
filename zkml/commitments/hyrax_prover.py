"""Prover of the zero-knowledge evaluation proofs for Hyrax-committed tensors (hyrax.py
states them; hyrax_verifier.py checks them): combine the tensors by a challenge, compute
w = L^T M and its blind, and prove <w, R> = v by the dot-product argument."""
from __future__ import annotations

import numpy as np

from zkml.arith.curve import get_backend
from zkml.arith.field import P, field_vec_times_int_matrix
from zkml.commitments import ipa_prover
from zkml.commitments.hyrax import eq_halves


def prove_batch_eval(ch, items: list[tuple], point: list[int], label: str, rng=None,
                     columns: int | None = None) -> None:
    """items: (values, row_blinds, claimed value, value_blind, TensorCommitment) per tensor.
    Model tensors (columns None) have len(point) variables; witness tensors (rows of
    2^columns) may have fewer, and are opened as their zero-prefix embeddings (hyrax.py). (The commitment is only read by the simulator.)"""
    rho = ch.challenge(label + "/rho")
    left, right = eq_halves(point, columns)
    w = np.zeros(len(right), dtype=object)
    rho_t, rv, v, coef = 0, 0, 0, 1
    be = get_backend()
    t_point = be.identity()
    for values, row_blinds, value, value_blind, tc in items:
        values = np.asarray(values)
        n_rows = len(row_blinds)
        matrix = values.reshape(n_rows, -1)
        assert n_rows <= len(left) and matrix.shape[1] <= len(right), "a tensor larger than the opening"
        if values.dtype == object:
            w_t = (left[:n_rows] @ matrix) % P
        else:
            w_t = field_vec_times_int_matrix(left[:n_rows], matrix)
        w[:len(w_t)] = (w[:len(w_t)] + w_t * coef) % P
        rho_t = (rho_t + coef * int(np.dot(left[:n_rows], np.array(row_blinds, dtype=object)) % P)) % P
        rv = (rv + coef * value_blind) % P
        v = (v + coef * value) % P
        if ch.simulate:
            t_point = be.add(t_point, be.msm(tc.rows, [coef * int(x) % P for x in left[:n_rows]]))
        coef = coef * rho % P
    ipa_prover.prove_dot(ch, w, rho_t, right, v, rv, label + "/dot", rng, t_point)
