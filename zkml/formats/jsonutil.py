"""JSON for zkml files: canonical bytes to write (and hash), and parsing of untrusted files,
where every failure is a FormatError, in time linear in the input.

Deeply nested input is refused before it reaches the json module (whose C scanner recurses),
by one vectorized pass over the bytes; integers longer than MAX_INT_DIGITS digits and
non-finite numbers are refused while parsing (Python's int-from-string conversion is
quadratic and raises a bare ValueError past 4300 digits).
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from zkml.errors import FormatError

MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 64             # no field of a zkml file needs more (the largest are 64-bit sizes)
_CHUNK = 1 << 20                # bytes scanned per vectorized step (bounds the scratch memory)
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPEN, _CLOSE = (ord("["), ord("{")), (ord("]"), ord("}"))


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def nesting_depth(data: bytes | str, limit: int | None = None) -> int:
    """Deepest bracket nesting outside JSON strings, in one linear pass over the bytes.

    A quote opens or closes a string unless an odd run of backslashes precedes it; brackets
    inside strings do not count. Stops early (returning a depth > `limit`) once `limit` is
    exceeded. Input that is not valid JSON may get a meaningless depth, but then the parser
    fails before it reaches the part where the scan and the parser disagree.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    view = memoryview(data).cast("B")
    depth = deepest = 0
    in_string = False
    run = 0                     # backslashes immediately before the current chunk
    for start in range(0, len(view), _CHUNK):
        raw = np.frombuffer(view[start:start + _CHUNK], dtype=np.uint8)
        n = raw.size
        idx = np.arange(n, dtype=np.int64)
        backslash = raw == _BACKSLASH
        last_other = np.maximum.accumulate(np.where(backslash, -1, idx))   # last non-backslash ≤ i
        # backslashes immediately before position i
        before = np.empty(n, dtype=np.int64)
        before[0] = run
        before[1:] = (idx[1:] - 1 - last_other[:-1]) + np.where(last_other[:-1] < 0, run, 0)
        quote = (raw == _QUOTE) & (before % 2 == 0)
        inside = (np.cumsum(quote) + in_string) % 2 == 1      # from an opening quote to its closing one
        delta = np.isin(raw, _OPEN).astype(np.int64) - np.isin(raw, _CLOSE)
        delta[inside] = 0
        levels = depth + np.cumsum(delta)
        deepest = max(deepest, int(levels.max()))
        if limit is not None and deepest > limit:
            return deepest
        depth, in_string = int(levels[-1]), bool(inside[-1])
        run = int(n - 1 - last_other[-1]) + (run if last_other[-1] < 0 else 0)
    return deepest


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise FormatError(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise FormatError(f"the number {text[:20]}{'…' if len(text) > 20 else ''} is out of range")
    return value


def _parse_constant(name: str):
    raise FormatError(f"{name} is not a JSON number")


def parse_json(data: bytes | str, what: str, max_depth: int = MAX_JSON_DEPTH):
    """json.loads for `what` (named in the error message); FormatError on anything malformed."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray, memoryview)) else data
        if nesting_depth(data, max_depth) > max_depth:
            raise FormatError(f"nested deeper than {max_depth} levels")
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except FormatError as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from None
    except (UnicodeError, ValueError, RecursionError, TypeError) as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from None
