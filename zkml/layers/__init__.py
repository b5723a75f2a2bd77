"""Layer kinds of the circuit. Each module holds one kind's prover step and verifier step:
given the claim on the layer's output (at its group's point) they reduce it, by sumcheck,
to claims on the layer's committed weights and on its input activations.

| kind | module | relation |
| --- | --- | --- |
| dense | dense.py | Z = A W^T + b (Thaler's matrix-multiplication sumcheck) |
| conv | conv.py | Z = im2col(A) W^T + b, the patch matrix derived from A's MLE, never committed |
| maxpool | maxpool.py | A_out - D_u = window_u(A_in), D_u >= 0, one selected D_u = 0 |
| avgpool | avgpool.py | K A_out + R = window sum of A_in + floor(K/2), R in [0, K) |

spec.py holds the public descriptions (shapes, padded layouts) all of them share.
"""
from __future__ import annotations

import importlib

KINDS = ("dense", "conv", "maxpool", "avgpool")     # a new kind: one module here and its name in KINDS


def step(kind: str):
    """The module holding the prover and verifier steps of a layer kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    return importlib.import_module(f"{__name__}.{kind}")
