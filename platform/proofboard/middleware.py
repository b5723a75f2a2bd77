"""Request-size guard: refuse oversized bodies from the Content-Length header, before any
middleware or view reads (and buffers or spools) them.

Two limits: MAX_REQUEST_BYTES for views marked with `accepts_uploads` (and the staff admin),
MAX_FORM_BYTES for every other view — the login page, sign-up, tokens, progress reports —
which only ever receive a few form fields or a small JSON object.
"""
from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .errors import api_error, request_too_large


def accepts_uploads(view: Callable) -> Callable:
    """Mark a view function that takes file uploads: its requests may be up to MAX_REQUEST_BYTES (a
    class-based view sets the class attribute `accepts_uploads = True` instead). Session-authenticated
    form views get that limit only for logged-in users; csrf-exempt API views authenticate their
    token before they read the body."""
    view.accepts_uploads = True
    return view


def _marked_for_uploads(view_func: Callable) -> bool:
    """The view function, or the class of a class-based view (`as_view()` sets view_class), is marked."""
    return bool(getattr(view_func, "accepts_uploads", False)
                or getattr(getattr(view_func, "view_class", None), "accepts_uploads", False))


def content_length(request: HttpRequest) -> int:
    """The declared body size (0 when absent or malformed: Django then reads no body)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except (TypeError, ValueError):
        return 0


class RequestSizeLimitMiddleware:
    """413 (JSON under /api/, an HTML page otherwise) for a body over the view's limit.

    Must be first in MIDDLEWARE: its process_view then runs before CsrfViewMiddleware's,
    which reads (and may spool to disk) a POSTed form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = int(getattr(settings, "MAX_REQUEST_BYTES", 0) or 0)
        if limit and content_length(request) > limit:
            return request_too_large(request, limit)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        limit = int(getattr(settings, "MAX_FORM_BYTES", 0) or 0)
        if not limit or content_length(request) <= limit or self._may_upload(request, view_func):
            return None
        return request_too_large(request, limit, uploads=False)

    @staticmethod
    def _may_upload(request: HttpRequest, view_func) -> bool:
        if _marked_for_uploads(view_func):
            return bool(getattr(view_func, "csrf_exempt", False) or request.user.is_authenticated)
        match = request.resolver_match
        return bool(match and match.namespace == "admin" and request.user.is_active and request.user.is_staff)


class ApiJsonErrorMiddleware:
    """Every error answer under /api/ is JSON with a `code` and a `detail` (proofboard.errors.error_body),
    whoever produced it. The API's own views and Django's error handlers already answer so; this is
    the safety net for anything else (a Django 404 page with DEBUG on, a plain-text error of a
    third-party view). A response that is already JSON (or a success, or a file) passes through
    untouched; headers such as Allow and Retry-After are kept."""

    ANSWERS = {
        400: ("bad_request", "Bad request."),
        401: ("not_authenticated", "Authentication required."),
        403: ("permission_denied", "Forbidden."),
        404: ("not_found", "Not found."),
        405: ("method_not_allowed", "Method not allowed."),
        413: ("payload_too_large", "The request body is too large."),
        429: ("throttled", "Too many requests."),
        503: ("unavailable", "The service is unavailable right now; try again later."),
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (response.status_code < 400 or not request.path.startswith("/api/")
                or response.get("Content-Type", "").startswith("application/json")):
            return response
        fallback = ("server_error", "Server error.") if response.status_code >= 500 else ("error", "Error.")
        code, message = self.ANSWERS.get(response.status_code, fallback)
        if response.status_code == 405 and response.has_header("Allow"):
            message = f"Method {request.method} not allowed; allowed: {response['Allow']}."
        json_response = api_error(response.status_code, code, message)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.has_header(header):
                json_response[header] = response[header]
        return json_response


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY on every response that has none (HTML pages, and JSON
    for good measure: a policy on a non-document is harmless)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and not response.has_header("Content-Security-Policy"):
            response["Content-Security-Policy"] = policy
        return response
