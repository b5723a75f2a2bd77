"""Fiat–Shamir transcript: one SHA-256 chain, every message labelled and length-prefixed.

state_0 = SHA256("proofboard/zkml/transcript/v1" || protocol label)
absorb(label, data):   state = SHA256(state || 0x01 || len(label) || label || len(data) || data)
challenge(label):      c = SHA512(state || 0x02 || len(label) || label) mod r, then the
                       challenge itself is absorbed, so consecutive challenges differ.
Lengths are 8-byte big-endian. The 512-bit output reduced mod r has bias below 2^-256.
"""
from __future__ import annotations

import hashlib

from zkml.arith.field import P

TRANSCRIPT_DOMAIN = b"proofboard/zkml/transcript/v1"


def _frame(label: bytes, data: bytes = b"") -> bytes:
    return len(label).to_bytes(8, "big") + label + len(data).to_bytes(8, "big") + data


class Transcript:
    """Prover and verifier run identical sequences of absorb/challenge calls."""

    def __init__(self, protocol: bytes) -> None:
        self._state = hashlib.sha256(TRANSCRIPT_DOMAIN + _frame(protocol)).digest()

    def absorb(self, label: str, data: bytes) -> None:
        self._state = hashlib.sha256(self._state + b"\x01" + _frame(label.encode(), data)).digest()

    def challenge(self, label: str) -> int:
        digest = hashlib.sha512(self._state + b"\x02" + _frame(label.encode())).digest()
        value = int.from_bytes(digest, "big") % P
        self.absorb("challenge/" + label, value.to_bytes(32, "big"))
        return value
