"""Every route of the site declares a policy from the table."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, path

from caching.checks import check_middleware_is_first, check_routes_have_policies
from caching.policies import POLICIES


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        else:
            assert isinstance(entry, URLPattern)
            yield route, entry.callback


def test_every_url_pattern_resolves_to_a_declared_policy():
    routes = dict(_walk(get_resolver().url_patterns))

    undeclared = [
        route
        for route, view in routes.items()
        if getattr(view, "cache_policy", None) not in POLICIES
    ]
    assert len(routes) > 50  # the admin's routes are walked too
    assert undeclared == []


def test_the_system_check_passes_on_the_site():
    assert check_routes_have_policies() == []
    assert check_middleware_is_first() == []


def bare_view(request):
    return HttpResponse("no policy")


urlpatterns = [path("bare/", bare_view)]


@pytest.mark.urls(__name__)
def test_the_system_check_names_a_route_without_a_policy():
    errors = check_routes_have_policies()

    assert [(error.id, error.msg) for error in errors] == [
        ("caching.E001", "The view for 'bare/' has no caching policy.")
    ]


def test_the_system_check_wants_the_middleware_first(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[1:], settings.MIDDLEWARE[0]]

    errors = check_middleware_is_first()

    assert [error.id for error in errors] == ["caching.E002"]
