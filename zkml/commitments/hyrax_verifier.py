"""Verifier of the zero-knowledge evaluation proofs for Hyrax-committed tensors stated in
hyrax.py (same message order as hyrax_prover.py): T = sum_i L_i C_i from the public row
commitments, then the dot-product argument's check."""
from __future__ import annotations

from zkml.arith.field import P
from zkml.commitments import ipa_verifier
from zkml.commitments.hyrax import embedded_shape, eq_halves
from zkml.protocols.group_checks import Combination
from zkml.errors import VerificationError


def verify_batch_eval(ch, items: list[tuple], point: list[int], label: str, what: str,
                      columns: int | None = None) -> None:
    """items: (TensorCommitment, value commitment) per tensor. Model tensors have len(point)
    variables; witness tensors (rows of 2^columns) at most that many, each opened as its zero-prefix
    embedding: its rows, then zero rows (hyrax.py, "one opening for the witness")."""
    rho = ch.challenge(label + "/rho")
    left, right = eq_halves(point, columns)
    coef = 1
    points, scalars, values, coefs = [], [], [], []
    for tc, value_commitment in items:
        n_rows, n_cols = embedded_shape(tc.n_vars, columns)
        if (tc.columns != columns or len(tc.rows) != n_rows or n_rows > len(left) or n_cols > len(right)
                or (columns is None and tc.n_vars != len(point)) or (n_rows > 1 and n_cols != len(right))):
            raise VerificationError("a tensor commitment does not match its evaluation point")
        for i in range(n_rows):
            points.append(tc.rows[i])
            scalars.append(coef * int(left[i]) % P)
        values.append(value_commitment)
        coefs.append(coef)
        coef = coef * rho % P
    cv, t = Combination(values, coefs), Combination(points, scalars)
    ipa_verifier.verify_dot(ch, t, cv, right, label + "/dot", what)
