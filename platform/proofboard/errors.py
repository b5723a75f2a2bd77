"""Error views: friendly HTML pages, or JSON under /api/. Never a traceback."""
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader


def error_body(code: str, detail: str, **fields: Any) -> dict[str, Any]:
    """The JSON body of every error under /api/: a stable machine `code`, a human `detail`, and
    `error` (the same text as `detail`, for clients written before `detail` existed)."""
    return {"code": code, "detail": detail, "error": detail, **fields}


def api_error(status: int, code: str, detail: str) -> JsonResponse:
    """An error answer under /api/ from outside the API's views (middleware, Django's handlers)."""
    return JsonResponse(error_body(code, detail), status=status)


def _respond(request: HttpRequest, status: int, message: str, code: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_error(status, code, message)
    try:
        body = loader.render_to_string(f"{status}.html", {"message": message}, request=None)
    except Exception:
        body = f"<h1>{status}</h1><p>{message}</p>"
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return _respond(request, 400, "Bad request.", "bad_request")


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return _respond(request, 403, "You do not have permission to do that.", "permission_denied")


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _respond(request, 404, "Page not found.", "not_found")


def server_error(request: HttpRequest) -> HttpResponse:
    return _respond(request, 500, "Something went wrong on our side. The error has been logged.", "server_error")


def _size(n: int) -> str:
    return f"{n // (1 << 20)} MiB" if n >= 1 << 20 else f"{n // 1024} KiB" if n >= 1024 else f"{n} bytes"


def request_too_large(request: HttpRequest, limit: int, uploads: bool = True) -> HttpResponse:
    """413 for a request body over its limit (see RequestSizeLimitMiddleware): the upload limit,
    or the small limit of a page that takes no files."""
    if uploads:
        return _respond(request, 413, f"The upload is too large: requests are limited to {limit} bytes "
                                      f"({_size(limit)}).", "payload_too_large")
    return _respond(request, 413, f"The request body is too large: this address takes no file uploads, "
                                  f"and its requests are limited to {limit} bytes ({_size(limit)}).",
                    "payload_too_large")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: JSON under /api/ (token-authenticated API views are csrf-exempt; a session
    POST to the API without a token fails here), the 403 page elsewhere."""
    return _respond(request, 403, "CSRF verification failed: reload the page and try again."
                    if not request.path.startswith("/api/") else
                    "CSRF verification failed: API requests authenticate with 'Authorization: Token <key>'.",
                    "csrf_failed")


def too_many_message(what: str, retry_after: int) -> str:
    """The text of a 429, on a page or under /api/ (where DRF's throttles answer with it too)."""
    return f"Too many {what}: try again in {retry_after} s."


def too_many_requests(request: HttpRequest, retry_after: int, what: str) -> HttpResponse:
    """429 with Retry-After (seconds), JSON under /api/, the 429 page elsewhere."""
    response = _respond(request, 429, too_many_message(what, retry_after), "throttled")
    response["Retry-After"] = str(retry_after)
    return response
