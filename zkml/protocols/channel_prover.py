"""The prover's channel (see channel.py): writes each message to the proof and absorbs it
into the transcript; as the simulator's channel it draws the challenges at random instead."""
from __future__ import annotations

from zkml.arith.curve import get_backend
from zkml.arith.field import P
from zkml.commitments.pedersen_prover import random_scalar
from zkml.protocols.channel import SCALAR_BYTES
from zkml.protocols.transcript import Transcript


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
        value = self._pending if self._pending is not None else random_scalar(self._rng)
        self._pending = None
        self.challenge_log.append(value)
        return value

    def challenges(self, label: str, n: int) -> list[int]:
        return [self.challenge(f"{label}/{i}") for i in range(n)]

    def bytes(self) -> bytes:
        return bytes(self._out)
