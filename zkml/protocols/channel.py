"""The proof as a message stream: every prover message is written to the proof bytes AND
absorbed into the Fiat–Shamir transcript, in one call, so no message can miss the transcript.

The verifier reads the same messages in the same order; a short, malformed or non-canonical
message raises FormatError naming the byte offset and the message label.
"""
from __future__ import annotations

from zkml.arith.curve import get_backend
from zkml.errors import FormatError
from zkml.arith.field import P
from zkml.protocols.transcript import Transcript

POINT_BYTES = 48
SCALAR_BYTES = 32


class ProverChannel:
    """simulate=True is the honest-verifier simulator's channel: challenges are chosen at
    random (and logged) instead of hashed, and sigma protocols may fix them in advance."""

    def __init__(self, transcript: Transcript, simulate: bool = False, rng=None) -> None:
        self.transcript = transcript
        self._out = bytearray()
        self.simulate = simulate
        self._rng = rng
        self._pending: int | None = None
        self.challenge_log: list[int] = []

    def program_challenge(self) -> int:
        """(Simulator only) choose the next challenge now."""
        from zkml.commitments.pedersen import random_scalar
        assert self.simulate, "only the simulator may program challenges"
        self._pending = random_scalar(self._rng)
        return self._pending

    def send_point(self, label: str, point) -> None:
        data = get_backend().to_bytes(point)
        self._out += data
        self.transcript.absorb(label, data)

    def send_scalar(self, label: str, value: int) -> None:
        data = (value % P).to_bytes(SCALAR_BYTES, "big")
        self._out += data
        self.transcript.absorb(label, data)

    def challenge(self, label: str) -> int:
        if not self.simulate:
            return self.transcript.challenge(label)
        from zkml.commitments.pedersen import random_scalar
        value = self._pending if self._pending is not None else random_scalar(self._rng)
        self._pending = None
        self.challenge_log.append(value)
        return value

    def challenges(self, label: str, n: int) -> list[int]:
        return [self.challenge(f"{label}/{i}") for i in range(n)]

    def bytes(self) -> bytes:
        return bytes(self._out)


class VerifierChannel:
    """programmed: a list of challenges to use instead of the hash (only for testing the
    simulator: the honest-verifier zero-knowledge experiment)."""

    def __init__(self, transcript: Transcript, data: bytes, programmed: list[int] | None = None) -> None:
        self.transcript = transcript
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
