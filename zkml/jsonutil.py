"""JSON parsing for untrusted files: every failure is a FormatError, and deeply nested
input is refused before it reaches the json module (whose C scanner can overflow the stack)."""
from __future__ import annotations

import json
import re

import numpy as np

from .errors import FormatError

MAX_JSON_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside JSON strings (vectorized: files may be large)."""
    raw = np.frombuffer(_STRING.sub('""', text).encode("utf-8", "replace"), dtype=np.uint8)
    delta = np.isin(raw, (ord("["), ord("{"))).astype(np.int32) - np.isin(raw, (ord("]"), ord("}")))
    return int(np.cumsum(delta).max()) if len(delta) else 0


def parse_json(data: bytes | str, what: str):
    """json.loads for `what` (named in the error message)."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        if nesting_depth(text) > MAX_JSON_DEPTH:
            raise FormatError(f"{what} is not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels")
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from None
