"""Signed, expiring bearer tokens for writing comments.

The comments API sits behind a CDN route that forwards no cookies, because
CloudFront answers conditional requests only on such routes. Writes there
authenticate with ``Authorization: Bearer <token>``, which a browser never
attaches by itself, so they need no CSRF token. The page gets its token from
/api/me/, where the session cookie is available.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core import signing
from django.utils.crypto import constant_time_compare

SALT = "hitrate.accounts.tokens.comments"
MAX_AGE = 60 * 60


class TokenError(Exception):
    """The request carries no usable token; the message says why."""


def issue(user) -> str:
    # Binding the token to the session hash ends it when the password changes.
    return signing.dumps(
        {"user": user.pk, "hash": user.get_session_auth_hash()}, salt=SALT
    )


def user_for(request):
    """The user a request's bearer token names, or TokenError."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("Sign in to write: send Authorization: Bearer <token>.")
    try:
        claims = signing.loads(token.strip(), salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise TokenError(
            "The token has expired: fetch a new one from /api/me/."
        ) from None
    except signing.BadSignature:
        raise TokenError(
            "The token is not valid: fetch a new one from /api/me/."
        ) from None

    user = (
        get_user_model()
        ._default_manager.filter(pk=claims.get("user"), is_active=True)
        .first()
    )
    if user is None or not constant_time_compare(
        claims.get("hash", ""), user.get_session_auth_hash()
    ):
        raise TokenError("The token is not valid: fetch a new one from /api/me/.")
    return user
