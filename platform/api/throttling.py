"""DRF throttling over the platform's fixed-window rate limits (proofboard/ratelimit.py).

A view names its limit with `throttle_scope` (a key of settings.RATE_LIMITS, set from
PROOFBOARD_RATE_<SCOPE>), as DRF's ScopedRateThrottle does; the request is counted per client IP
and per account in the same cache windows as the web pages, so an upload through a page and one
through the API share one budget.
"""
from typing import Optional

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from proofboard import ratelimit


class ScopedWindowThrottle(BaseThrottle):
    """Allow a request while its IP and its account are within the view's `throttle_scope` limit."""

    def __init__(self) -> None:
        self.retry_after: Optional[int] = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        """Count a write the view handles (DRF throttles before it answers 405, and OPTIONS is no
        upload); False (DRF answers 429) when any count is over its limit."""
        if request.method in SAFE_METHODS or not hasattr(view, request.method.lower()):
            return True
        self.retry_after = ratelimit.check_request(request, view.throttle_scope)
        return self.retry_after is None

    def wait(self) -> Optional[int]:
        """Seconds until the window ends: the 429's Retry-After."""
        return self.retry_after
