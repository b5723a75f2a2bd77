"""Typed domain exceptions of the submission services: what went wrong, not how to answer it.

Each is a ValidationError (shown on a form, or as a web page's message) or a PermissionDenied; the
API turns each class into its HTTP status in one table, `api.errors.STATUS`, never by reading the
message. tests/platform/test_web_rules.py checks that every class here has a status there.
"""
from django.core.exceptions import PermissionDenied, ValidationError


class BadInput(ValidationError):
    """A malformed request field (unknown proof mode, NUL in a label, a bad progress report): 400."""


class BadUpload(ValidationError):
    """An uploaded file that cannot be used: empty, over its size limit, not parseable, of the wrong
    kind, not provable: 400, nothing stored."""


class UploadMismatch(BadUpload):
    """A well-formed file that does not belong where it was uploaded (another entry, model or dataset,
    or another kind of file): 400 naming the fix; nothing is stored."""


class CommitmentInUse(BadUpload):
    """The commitment was uploaded first by another participant (anti-replay): 400."""


class QuotaExceeded(ValidationError):
    """The participant used all of the day's submissions on the challenge: 400 (a documented answer
    with `remaining_today`, not a 429: waiting seconds does not help, the message says until when)."""


class ChallengeClosed(ValidationError):
    """The challenge's schedule does not allow the action now (not open, test set not revealed,
    proving deadline passed): 400."""


class WrongProofMode(ValidationError):
    """A self-hosted action on a hosted entry (or the reverse): 400."""


class WrongState(ValidationError):
    """The entry's state does not allow the action (states.py): 409."""


class CheckUnavailable(ValidationError):
    """The platform cannot check an upload right now (its own test set is unreadable): 503, nothing is
    stored, the participant may try again."""


class NotYourEntry(PermissionDenied):
    """The entry belongs to someone else: answered as 404, so entry ids reveal nothing."""


class StaffOnly(PermissionDenied):
    """A staff action by someone who is not staff: 403."""


DOMAIN_ERRORS = (BadInput, BadUpload, UploadMismatch, CommitmentInUse, QuotaExceeded, ChallengeClosed,
                 WrongProofMode, WrongState, CheckUnavailable, NotYourEntry, StaffOnly)
