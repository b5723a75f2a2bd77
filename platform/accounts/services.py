"""Account services: API token creation, revocation and authentication."""
import hashlib
import secrets
from typing import Optional

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from .models import ApiToken

TOKEN_PREFIX = "pb_"


def hash_token(raw: str) -> str:
    """SHA-256 hex digest of a raw token."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the raw token (shown once)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=(name or "token")[:80], prefix=raw[:10], key_hash=hash_token(raw))
    return token, raw


def revoke_token(user: AbstractBaseUser, token_id: int) -> bool:
    """Revoke one of `user`'s own tokens; False if it is not theirs or already revoked."""
    return bool(
        ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


def user_for_token(raw: str) -> Optional[AbstractBaseUser]:
    """The active user owning the raw token, or None."""
    if not raw:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
