"""Putting a policy from the table on a response, and reading it back."""

from __future__ import annotations

from django.http import HttpResponseBase

from caching.policies import Policy

_MARK = "cache_policy"


def apply_policy(response: HttpResponseBase, policy: Policy) -> HttpResponseBase:
    response["Cache-Control"] = policy.cache_control
    # Cache-Control overrides Expires (RFC 9111 section 5.3); dropping the
    # older header keeps one statement of the policy on the wire.
    del response["Expires"]
    setattr(response, _MARK, policy)
    return response


def policy_of(response: HttpResponseBase) -> Policy | None:
    return getattr(response, _MARK, None)
