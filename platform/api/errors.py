"""The one table from domain exceptions to HTTP statuses of the API.

Views catch the services' exceptions by their base classes and answer with `error_response(exc)`;
the status comes from the exception's class (the first of its classes, most specific first, found in
STATUS), never from its message. tests/platform/test_web_rules.py checks that every domain exception
(submissions.errors.DOMAIN_ERRORS) is in the table and that no API view picks a status itself.
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse

from submissions import errors
from submissions.selectors import PageNotFound

from .auth import error

STATUS: dict[type, int] = {
    errors.BadInput: 400,
    errors.BadUpload: 400,
    errors.UploadMismatch: 400,
    errors.CommitmentInUse: 400,
    errors.QuotaExceeded: 400,        # documented: a 400 with remaining_today (docs/api.md)
    errors.ChallengeClosed: 400,
    errors.WrongProofMode: 400,
    errors.WrongState: 409,
    errors.CheckUnavailable: 503,
    errors.NotYourEntry: 404,         # someone else's entry is "no such submission"
    errors.StaffOnly: 403,
    PageNotFound: 404,
    ValidationError: 400,             # any other invalid input
    PermissionDenied: 403,
}


def status_for(exc: BaseException) -> int:
    """The HTTP status of a domain exception, by its class."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    raise TypeError(f"no HTTP status for {type(exc).__name__}")


def message_of(exc: BaseException) -> str:
    """The exception's message(s) as one line."""
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


def error_response(exc: BaseException, **extra) -> JsonResponse:
    """{"error": <message>, **extra} with the status of the exception's class."""
    return error(status_for(exc), message_of(exc), **extra)
