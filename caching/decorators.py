"""Declaring a view's caching policy where the view is defined or routed."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.urls import URLPattern, URLResolver

from caching.headers import apply_policy, policy_of
from caching.policies import ERROR, Policy


def cache_policy(policy: Policy) -> Callable:
    """Give every response of the view the policy, and errors the ERROR one.

    A response that already carries a policy (a view choosing another one for
    a special case) keeps it. A 304 made by ``condition`` before the view runs
    gets the policy here, as RFC 9110 section 15.4.5 asks that it repeat the
    Cache-Control a 200 would carry.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if policy_of(response) is None:
                chosen = ERROR if response.status_code >= 400 else policy
                apply_policy(response, chosen)
            return response

        wrapper.cache_policy = policy
        return wrapper

    return decorator


def with_policy(patterns: list, policy: Policy) -> list:
    """Wrap every view under a list of URL patterns, such as the admin's."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            with_policy(entry.url_patterns, policy)
        elif isinstance(entry, URLPattern):
            entry.callback = cache_policy(policy)(entry.callback)
    return patterns
