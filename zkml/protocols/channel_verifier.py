"""The verifier's channel (see channel.py): reads each message from the proof, refusing a
short, malformed or non-canonical one, and absorbs it into the transcript in the same order."""
from __future__ import annotations

from zkml.arith.curve import get_backend
from zkml.arith.field import P
from zkml.errors import FormatError
from zkml.protocols.channel import POINT_BYTES, SCALAR_BYTES
from zkml.protocols.group_checks import GroupChecks
from zkml.protocols.transcript import Transcript


class VerifierChannel:
    """programmed: a list of challenges to use instead of the hash (only for testing the
    simulator: the honest-verifier zero-knowledge experiment). checks: where the group
    equations go (group_checks.py); by default each is checked when it is recorded."""

    def __init__(self, transcript: Transcript, data: bytes, programmed: list[int] | None = None,
                 checks: GroupChecks | None = None) -> None:
        self.transcript = transcript
        self.checks = checks if checks is not None else GroupChecks()
        self._data = memoryview(data)
        self._pos = 0
        self._programmed = list(programmed) if programmed is not None else None

    def _take(self, n: int, label: str) -> bytes:
        if self._pos + n > len(self._data):
            raise FormatError(f"proof truncated at byte {self._pos} while reading '{label}'")
        chunk = bytes(self._data[self._pos:self._pos + n])
        self._pos += n
        return chunk

    def recv_point(self, label: str):
        offset = self._pos
        data = self._take(POINT_BYTES, label)
        try:
            point = get_backend().from_bytes(data)
        except ValueError as exc:
            raise FormatError(f"bad curve point at byte {offset} ('{label}'): {exc}") from None
        self.transcript.absorb(label, data)
        return point

    def recv_scalar(self, label: str) -> int:
        offset = self._pos
        data = self._take(SCALAR_BYTES, label)
        value = int.from_bytes(data, "big")
        if value >= P:
            raise FormatError(f"non-canonical scalar at byte {offset} ('{label}')")
        self.transcript.absorb(label, data)
        return value

    def challenge(self, label: str) -> int:
        if self._programmed is not None:
            if not self._programmed:
                raise FormatError("programmed challenges exhausted")
            return self._programmed.pop(0)
        return self.transcript.challenge(label)

    def challenges(self, label: str, n: int) -> list[int]:
        return [self.challenge(f"{label}/{i}") for i in range(n)]

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise FormatError(f"{len(self._data) - self._pos} unexpected bytes after the proof's end")
