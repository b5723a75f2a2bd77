"""Fixed-window rate limits on the abuse-prone actions: log-in, sign-up, API-token creation and
uploads (commitments and proofs). Each action is counted per client IP and per account; either
count over its limit answers 429 with Retry-After (JSON under /api/). Web pages use the
`rate_limited` decorator; the API's DRF throttle (api/throttling.py) calls `check_request`, so
an upload on a page and one through the API count in the same window.

The counters live in Django's cache (Redis in a deployment, so all gunicorn workers share them;
settings.CACHES), one key per (scope, who, window): `cache.add` creates it with the window as
its timeout, `cache.incr` counts atomically. A fixed window lets at most 2x the limit through
around a window boundary, which is fine for brute-force and spam throttling and costs one round
trip. Limits are settings (RATE_LIMITS, "count/seconds" from PROOFBOARD_RATE_<SCOPE>), so tests
can set them low; a count of 0 disables a scope.
"""
import functools
import hashlib
import time
from typing import Callable, Iterable, Optional

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from .errors import too_many_requests

WHAT = {"login": "log-in attempts", "signup": "sign-ups", "token": "API tokens created",
        "upload": "uploads"}


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind a trusted TLS-terminating proxy
    (PROOFBOARD_BEHIND_PROXY) the last address of X-Forwarded-For — the one the proxy added; the
    earlier ones are the client's word."""
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(scope: str, who: str, limit: int, window: int, now: Optional[float] = None) -> Optional[int]:
    """Count one request of `who` in `scope`; None when within the limit, else the seconds until the
    window ends (the Retry-After)."""
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    start = int(now // window) * window
    digest = hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    key = f"rl:{scope}:{digest}:{start}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, 1, timeout=window + 1)
            count = 1
    if count <= limit:
        return None
    return max(1, int(start + window - now + 0.999))


def check(request: HttpRequest, scope: str, accounts: Iterable[str] = ()) -> Optional[int]:
    """Count the request per IP and per account; the Retry-After seconds if any count is over."""
    limit, window = settings.RATE_LIMITS.get(scope, (0, 60))
    whos = [f"ip:{client_ip(request)}"] + [f"account:{a.lower()}" for a in accounts if a]
    retry = [r for r in (hit(scope, who, limit, window) for who in whos) if r is not None]
    return max(retry) if retry else None


def check_request(request: HttpRequest, scope: str, named: str = "") -> Optional[int]:
    """Count a request against `scope`, per IP and per account: the logged-in or token-authenticated
    user, and `named` (e.g. the username a log-in form names). The Retry-After seconds if over."""
    accounts = []
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        accounts.append(f"user:{user.pk}")
    if named:
        accounts.append(f"name:{named[:200]}")
    return check(request, scope, accounts)


def describe(scope: str) -> str:
    """What a scope counts, for the 429's message ("uploads")."""
    return WHAT.get(scope, "requests")


def rate_limited(scope: str, account: Optional[Callable[[HttpRequest], str]] = None,
                 methods: tuple[str, ...] = ("POST",)) -> Callable:
    """Decorate a (web page) view: requests with one of `methods` count against `scope`, per IP and
    per account (the logged-in user, or `account(request)`). The API's views use the DRF throttle
    api.throttling.ScopedWindowThrottle, which counts in the same windows."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method in methods:
                retry_after = check_request(request, scope, account(request) if account is not None else "")
                if retry_after is not None:
                    return too_many_requests(request, retry_after, describe(scope))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
