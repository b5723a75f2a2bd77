"""Request-size guard: refuse oversized uploads from the Content-Length header, before any
middleware or view reads (and buffers or spools) the body."""
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .errors import request_too_large


class RequestSizeLimitMiddleware:
    """413 (JSON under /api/, an HTML page otherwise) when Content-Length exceeds
    settings.MAX_REQUEST_BYTES (the largest upload limit plus headroom)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = int(getattr(settings, "MAX_REQUEST_BYTES", 0) or 0)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except (TypeError, ValueError):
            length = 0
        if limit and length > limit:
            return request_too_large(request, limit)
        return self.get_response(request)
