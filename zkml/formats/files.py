"""Reading and writing the public files (COMMIT.json, PROOF.bin): bounded reads, one error form."""
from __future__ import annotations

from zkml.errors import FormatError


def read_bounded(path, limit: int, what: str) -> bytes:
    """At most limit + 1 bytes of the file (the parser then refuses an oversized one);
    FormatError naming `what` when the file cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError as exc:
        raise FormatError(f"cannot read {what} file: {exc}") from None


def write_bytes(path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
