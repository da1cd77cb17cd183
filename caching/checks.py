"""System checks that keep every route and the middleware on the table."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.urls import URLPattern, URLResolver, get_resolver

MIDDLEWARE_PATH = "caching.middleware.CachePolicyMiddleware"


def routes(resolver: URLResolver | None = None, prefix: str = "") -> Iterator:
    """Yield (route, view) for every URL pattern, included ones too."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


@register(Tags.urls)
def check_routes_have_policies(app_configs=None, **kwargs):
    return [
        Error(
            f"The view for {route!r} has no caching policy.",
            hint="Decorate it with caching.decorators.cache_policy(POLICY).",
            obj=view,
            id="caching.E001",
        )
        for route, view in routes()
        if getattr(view, "cache_policy", None) is None
    ]


@register()
def check_middleware_is_first(app_configs=None, **kwargs):
    if settings.MIDDLEWARE[:1] == [MIDDLEWARE_PATH]:
        return []
    return [
        Error(
            f"{MIDDLEWARE_PATH} must come first in MIDDLEWARE.",
            hint="It checks what every other middleware did to the response.",
            id="caching.E002",
        )
    ]
