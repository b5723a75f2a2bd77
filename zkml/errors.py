"""Exceptions raised by the zkml package.

Every error the package raises on purpose is a :class:`ZkmlError`, so callers
(the CLI, the platform) can catch one type and show its message.
"""

from __future__ import annotations


class ZkmlError(Exception):
    """Base class of every error raised on purpose by zkml."""


class FormatError(ZkmlError):
    """A file or byte string is malformed: wrong magic, truncated, bad shapes or values."""


class UnsupportedModelError(ZkmlError):
    """The model uses an operator, shape or value range the proof system cannot handle.

    For operator problems the message names the operator type and the node,
    e.g. ``unsupported operator 'Conv' at node 'conv1'``.
    """


class VerificationError(ZkmlError):
    """A proof did not verify; ``reason`` names the check that failed."""

    def __init__(self, reason: str, *args: object) -> None:
        super().__init__(reason, *args)
        self.reason = reason

    def __str__(self) -> str:
        return f"verification failed: {self.reason}"


class StatementMismatchError(ZkmlError):
    """A proof was made for another statement than the one it is checked against (another
    context, model, commitment, dataset or sample count); ``parts`` names what differs, in the
    order of zkml.formats.proof.STATEMENT_PARTS, with "n_samples" first."""

    def __init__(self, parts: list[str]) -> None:
        super().__init__("the proof was made for a different " + ", ".join(parts))
        self.parts = list(parts)


class CommitmentMismatchError(ZkmlError):
    """A model file is not the one a commitment was made from (another architecture, or
    another opening: committed again, or another model)."""
