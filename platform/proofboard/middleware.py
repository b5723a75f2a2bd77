"""Request-size guard: refuse oversized bodies from the Content-Length header, before any
middleware or view reads (and buffers or spools) them.

Two limits: MAX_REQUEST_BYTES for views marked with `accepts_uploads` (and the staff admin),
MAX_FORM_BYTES for every other view — the login page, sign-up, tokens, progress reports —
which only ever receive a few form fields or a small JSON object.
"""
from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import request_too_large


def accepts_uploads(view: Callable) -> Callable:
    """Mark a view that takes file uploads: its requests may be up to MAX_REQUEST_BYTES.
    Session-authenticated form views get that limit only for logged-in users; csrf-exempt API
    views authenticate their token before they read the body."""
    view.accepts_uploads = True
    return view


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
        if getattr(view_func, "accepts_uploads", False):
            return bool(getattr(view_func, "csrf_exempt", False) or request.user.is_authenticated)
        match = request.resolver_match
        return bool(match and match.namespace == "admin" and request.user.is_active and request.user.is_staff)


class ApiJsonErrorMiddleware:
    """Every error answer under /api/ is JSON ({"error": ...}), whoever produced it: Django's 405 of
    require_GET/require_POST, the CSRF 403, a 404 from the resolver, the 413 and 429 of our own
    guards. A response that is already JSON (or a success, or a file) passes through untouched;
    headers such as Allow and Retry-After are kept."""

    MESSAGES = {
        400: "Bad request.",
        401: "Authentication required.",
        403: "Forbidden.",
        404: "Not found.",
        405: "Method not allowed.",
        413: "The request body is too large.",
        429: "Too many requests.",
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (response.status_code < 400 or not request.path.startswith("/api/")
                or response.get("Content-Type", "").startswith("application/json")):
            return response
        message = self.MESSAGES.get(response.status_code, "Server error." if response.status_code >= 500 else "Error.")
        if response.status_code == 405 and response.has_header("Allow"):
            message = f"Method {request.method} not allowed; allowed: {response['Allow']}."
        json_response = JsonResponse({"error": message}, status=response.status_code)
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
