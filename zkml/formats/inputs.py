"""The public input quantization, shared by the model (its predictions) and the verifier (the
statement's inputs), so verifying does not load the model format."""
from __future__ import annotations

import numpy as np

from zkml.constants import ACT_MAX
from zkml.errors import FormatError


def quantize_array(x: np.ndarray, input_scale: float) -> np.ndarray:
    """float [N, ...] -> int64 [N, prod(...)]: clamp(rint(float64(x) / input_scale), -127, 127).

    The division is done in float64 (IEEE, deterministic); np.rint rounds half to even.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise FormatError(f"input must have shape [N, ...], got {x.shape}")
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.floating)
                                   or np.issubdtype(x.dtype, np.integer)):
        raise FormatError(f"input must be numeric, got dtype {x.dtype}")
    d = int(np.prod(x.shape[1:], dtype=np.int64))
    x64 = x.astype(np.float64).reshape(x.shape[0], d)
    if not np.all(np.isfinite(x64)):
        raise FormatError("input contains NaN or infinity")
    q = np.clip(np.rint(x64 / float(input_scale)), -ACT_MAX, ACT_MAX)
    return q.astype(np.int64)
