"""The one table from exceptions to API answers (HTTP status and stable machine `code`), and the DRF
exception handler that answers every error of the API's views with proofboard.errors.error_body.

Views let the services' typed exceptions (submissions/errors.py) propagate; the answer comes from
the exception's class (the first of its classes, most specific first, found in ANSWERS), never from
its message. DRF's own exceptions (authentication, permissions, throttling, 404, 405, parse errors)
keep their status and their DRF code. tests/platform/test_web_rules.py checks that every domain
exception (submissions.errors.DOMAIN_ERRORS) has its own row here.
"""
from typing import Any, Optional

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from proofboard.errors import error_body, too_many_message
from submissions import errors
from submissions.selectors import PageNotFound

ANSWERS: dict[type, tuple[int, str]] = {
    errors.BadInput: (400, "bad_input"),
    errors.BadUpload: (400, "bad_upload"),
    errors.UploadMismatch: (400, "upload_mismatch"),
    errors.CommitmentInUse: (400, "commitment_in_use"),
    errors.QuotaExceeded: (400, "quota_exceeded"),     # documented: a 400 with remaining_today (docs/api.md)
    errors.ChallengeClosed: (400, "challenge_closed"),
    errors.WrongProofMode: (400, "wrong_proof_mode"),
    errors.WrongState: (409, "wrong_state"),
    errors.CheckUnavailable: (503, "unavailable"),
    errors.NotYourEntry: (404, "not_found"),           # someone else's entry is "no such submission"
    errors.StaffOnly: (403, "permission_denied"),
    PageNotFound: (404, "not_found"),
    ValidationError: (400, "bad_input"),               # any other invalid input
    PermissionDenied: (403, "permission_denied"),
}
# A serializer's refusal is "bad_input" unless its field named a domain code (UploadField does).
INVALID_INPUT = "bad_input"
DOMAIN_CODES = frozenset(code for _, code in ANSWERS.values())


def answer_for(exc: BaseException) -> tuple[int, str]:
    """The (HTTP status, code) of a domain exception, by its class."""
    for cls in type(exc).__mro__:
        if cls in ANSWERS:
            return ANSWERS[cls]
    raise TypeError(f"no API answer for {type(exc).__name__}")


def status_for(exc: BaseException) -> int:
    """The HTTP status of a domain exception."""
    return answer_for(exc)[0]


def code_for(exc: BaseException) -> str:
    """The machine code of a domain exception."""
    return answer_for(exc)[1]


def message_of(exc: BaseException) -> str:
    """The exception's message(s) as one line."""
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


def field_error(exc: ValidationError) -> serializers.ValidationError:
    """A domain exception raised while a serializer field validates, as the field's error, keeping
    the domain code (DRF would otherwise file every Django ValidationError as "invalid")."""
    return serializers.ValidationError(message_of(exc), code=code_for(exc))


class WithFields(Exception):
    """An exception answered with extra JSON fields beside code and detail (e.g. `remaining_today`
    on every refused commitment, `reveal_at` on a test set asked for too early)."""

    def __init__(self, cause: Exception, **fields: Any) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.fields = fields


class NotRevealed(exceptions.PermissionDenied):
    """The test set of a challenge before its reveal time: only its digest is public."""

    default_code = "not_revealed"


class TooManyRequests(exceptions.Throttled):
    """A 429 whose message names what was counted, in the web pages' words."""

    def __init__(self, wait: int, what: str) -> None:
        exceptions.APIException.__init__(self, too_many_message(what, wait))
        self.wait = wait


def _messages(detail: Any) -> list[exceptions.ErrorDetail]:
    """The messages of a (nested) serializer error, in field order."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value)]
    return [detail]


def _invalid_input(exc: serializers.ValidationError) -> dict[str, Any]:
    """A serializer's refusal as an error body: its messages in field order as the detail, the first
    message's code when it is a domain code, and the per-field messages under `fields`."""
    messages = _messages(exc.detail)
    first = getattr(messages[0], "code", None) if messages else None
    code = first if first in DOMAIN_CODES else INVALID_INPUT
    fields = {"fields": exc.detail} if isinstance(exc.detail, dict) else {}
    return error_body(code, " ".join(str(m) for m in messages) or "Invalid input.", **fields)


def api_exception_handler(exc: Exception, context: dict) -> Optional[Response]:
    """DRF's EXCEPTION_HANDLER: every error of an API view as {"code", "detail", "error", …}.
    None for an unexpected exception: Django logs it and answers a JSON 500 (proofboard.errors)."""
    fields: dict[str, Any] = {}
    if isinstance(exc, WithFields):
        fields, exc = exc.fields, exc.cause
    if isinstance(exc, serializers.ValidationError):
        set_rollback()
        return Response({**_invalid_input(exc), **fields}, status=400)
    if isinstance(exc, (ValidationError, PermissionDenied, PageNotFound)):
        status, code = answer_for(exc)
        set_rollback()
        return Response(error_body(code, message_of(exc), **fields), status=status)
    response = exception_handler(exc, context)       # DRF's: statuses and headers (WWW-Authenticate, Retry-After)
    if response is None:
        return None
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    response.data = error_body(code, str(detail), **fields)
    return response
