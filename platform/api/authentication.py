"""Token authentication of the API: `Authorization: Token pb_…` (Bearer is accepted too).

Only a SHA-256 of each token is stored (accounts.services); a revoked token or an inactive user
fails. Sessions are not an API authentication, so the API has no CSRF surface.
"""
from typing import Optional

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.services import user_for_token

SCHEMES = {"token", "bearer"}


class ApiTokenAuthentication(BaseAuthentication):
    """DRF authentication by the account's API tokens (created on /accounts/tokens/)."""

    keyword = "Token"

    def authenticate(self, request: Request) -> Optional[tuple[AbstractBaseUser, None]]:
        """The token's user; None without a token header (the permission then answers 401)."""
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in SCHEMES:
            return None
        user = user_for_token(key.strip())
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        """The WWW-Authenticate challenge of a 401."""
        return self.keyword
