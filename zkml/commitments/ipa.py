"""Zero-knowledge proof of a dot product with logarithmic communication (Bulletproofs'
inner-product argument, Bünz et al. 2018 §3, with the blinding of Hyrax Appendix A).

Statement: T = <w, G> + rho h and Cv = v g + rv h with v = <w, a> for a public vector a.
A challenge e folds both into P = T + e Cv = <w, G> + <w, a> U + s h with U = e g. Each
round halves the vectors: L = <w_L, G_R> + <w_L, a_R> U + sL h, R = <w_R, G_L> + <w_R, a_L> U
+ sR h, then w' = x w_L + x^-1 w_R, G' = x^-1 G_L + x G_R, a' = x^-1 a_L + x a_R and
P' = x^2 L + P + x^-2 R. A final Schnorr proof on the base G* + a* U and h shows knowledge of
(w*, s*). Soundness: special soundness per round (error <= 3/r each) under discrete log.
The prover's half is ipa_prover.py, the verifier's ipa_verifier.py; both fold the public
vector a the same way (fold_vector, here).
"""
from __future__ import annotations

from zkml.arith.field import P


def fold_vector(v: list[int], lo_factor: int, hi_factor: int) -> list[int]:
    """lo_factor v_L + hi_factor v_R: one round's halving of a vector (a, w) of the argument."""
    half = len(v) // 2
    return [(lo_factor * v[i] + hi_factor * v[half + i]) % P for i in range(half)]
