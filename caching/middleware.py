"""The last line of defence: no response leaves without a policy."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.cache import has_vary_header

from caching.headers import apply_policy, policy_of
from caching.policies import ERROR, PERSONAL, PREFLIGHT, REDIRECT

logger = logging.getLogger(__name__)


class CachePolicyMiddleware:
    """Check that each response carries a policy from the table, unaltered.

    It must be first in MIDDLEWARE, so it sees what the other middleware did
    to the response (session cookies, ``Vary: Cookie``). Errors, whoever made
    them, get the ERROR policy; permanent redirects made before any view was
    chosen (adding a slash, going to HTTPS) get the REDIRECT one, and CORS
    preflights answered by their middleware the PREFLIGHT one. Anything
    else without a policy is a bug: strict mode (debug and tests) raises;
    production sends the safest policy and logs a warning.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.policy_view = None
        response = self.get_response(request)
        policy = policy_of(response)

        if policy is None:
            if response.status_code >= 400:
                return apply_policy(response, ERROR)
            if request.policy_view is None:
                if response.status_code in (301, 308):
                    return apply_policy(response, REDIRECT)
                # A preflight is an OPTIONS asking about another method
                # (Fetch standard, CORS protocol); its middleware answers it,
                # allowed origin or not.
                if (
                    request.method == "OPTIONS"
                    and "Access-Control-Request-Method" in request.headers
                ):
                    return apply_policy(response, PREFLIGHT)

        if policy is None:
            problem = "has no caching policy"
        elif response.get("Cache-Control") != policy.cache_control:
            problem = (
                f"changed the Cache-Control of policy {policy.name!r} to "
                f"{response.get('Cache-Control')!r}"
            )
        elif policy.shared and response.cookies:
            problem = f"sets a cookie under the public policy {policy.name!r}"
        elif policy.shared and has_vary_header(response, "Cookie"):
            problem = f"varies on Cookie under the public policy {policy.name!r}"
        else:
            return response

        return self.violation(request, response, problem)

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.policy_view = view_func

    def violation(self, request, response, problem):
        view = request.policy_view
        where = f"{view.__module__}.{view.__qualname__}" if view else request.path
        message = f"The response of {where} {problem}."
        if settings.HITRATE_STRICT_POLICIES:
            raise ImproperlyConfigured(message)
        logger.warning("%s Sending it as %r.", message, PERSONAL.cache_control)
        return apply_policy(response, PERSONAL)
