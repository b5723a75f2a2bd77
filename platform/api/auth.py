"""Token authentication for the JSON API (`Authorization: Token <key>`)."""
import functools
from typing import Callable

from django.http import HttpRequest, JsonResponse

from accounts.services import user_from_authorization


def error(status: int, message: str, **extra) -> JsonResponse:
    """A JSON error body: {"error": message, ...}."""
    return JsonResponse({"error": message, **extra}, status=status)


def token_required(view: Callable) -> Callable:
    """Require a valid API token; sets request.user (sessions are not accepted: no CSRF surface)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        user = user_from_authorization(request)
        if user is None:
            response = error(401, "A valid API token is required (Authorization: Token <key>).")
            response["WWW-Authenticate"] = "Token"
            return response
        request.user = user
        return view(request, *args, **kwargs)

    return wrapper
