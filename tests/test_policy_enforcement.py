"""The middleware that lets no response out without a policy from the table."""

from __future__ import annotations

import logging
from http import HTTPStatus

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import include, path

from caching.decorators import cache_policy
from caching.policies import ADMIN, ERROR, PAGE, PERSONAL, PREFLIGHT, REDIRECT
from config.urls import handler404, handler500  # noqa: F401  (this URLconf's)


def forgot_its_policy(request):
    return HttpResponse("no policy")


@cache_policy(PAGE)
def public_page(request):
    return HttpResponse("same for everyone")


@cache_policy(PAGE)
def public_page_that_sets_a_cookie(request):
    response = HttpResponse("oops")
    response.set_cookie("tracking", "1")
    return response


@cache_policy(PAGE)
def public_page_that_reads_the_session(request):
    return HttpResponse(f"hello {request.user}")


@cache_policy(PAGE)
def public_page_that_fails(request):
    return HttpResponse("bad page number", status=HTTPStatus.BAD_REQUEST)


def _overrides_the_policy(view):
    def wrapper(request):
        response = view(request)
        response["Cache-Control"] = "no-cache"
        return response

    wrapper.cache_policy = PAGE
    return wrapper


@_overrides_the_policy
@cache_policy(PAGE)
def public_page_altered_later(request):
    return HttpResponse("altered")


@cache_policy(PERSONAL)
def personal_page(request):
    response = HttpResponse(f"hello {request.user}")
    response.set_cookie("seen", "1")
    return response


@cache_policy(PAGE)
def not_modified(request):
    return HttpResponseNotModified()


@cache_policy(PAGE)
def crash(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [
    path("crash/", crash),
    path("not-modified/", not_modified),
    path("forgot/", forgot_its_policy),
    path("public/", public_page),
    path("public-cookie/", public_page_that_sets_a_cookie),
    path("public-session/", public_page_that_reads_the_session),
    path("public-fails/", public_page_that_fails),
    path("public-altered/", public_page_altered_later),
    path("personal/", personal_page),
    path("", include("config.urls")),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def test_a_view_with_its_policy_sends_it(client):
    response = client.get("/public/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PAGE.cache_control
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


def test_a_personal_policy_may_set_cookies_and_read_the_session(client):
    response = client.get("/personal/")

    assert response["Cache-Control"] == PERSONAL.cache_control
    assert response.cookies["seen"].value == "1"
    assert response["Vary"] == "Cookie"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "/forgot/",
            "The response of tests.test_policy_enforcement.forgot_its_policy "
            "has no caching policy.",
        ),
        (
            "/public-cookie/",
            "The response of tests.test_policy_enforcement."
            "public_page_that_sets_a_cookie sets a cookie under the public "
            "policy 'page'.",
        ),
        (
            "/public-session/",
            "The response of tests.test_policy_enforcement."
            "public_page_that_reads_the_session varies on Cookie under the "
            "public policy 'page'.",
        ),
        (
            "/public-altered/",
            "The response of tests.test_policy_enforcement."
            "_overrides_the_policy.<locals>.wrapper changed the Cache-Control "
            "of policy 'page' to 'no-cache'.",
        ),
    ],
)
def test_strict_mode_raises_on_a_policy_mistake(client, url, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        client.get(url)

    assert str(raised.value) == message


def test_production_sends_the_safest_policy_and_warns(client, settings, caplog):
    settings.HITRATE_STRICT_POLICIES = False

    with caplog.at_level(logging.WARNING, logger="caching.middleware"):
        response = client.get("/public-cookie/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PERSONAL.cache_control
    assert caplog.messages == [
        "The response of tests.test_policy_enforcement."
        "public_page_that_sets_a_cookie sets a cookie under the public policy "
        "'page'. Sending it as 'private, no-store'."
    ]


def test_an_error_from_a_public_view_gets_the_error_policy(client):
    response = client.get("/public-fails/")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Cache-Control"] == ERROR.cache_control


def test_an_unknown_address_gets_the_site_404_with_the_error_policy(client):
    response = client.get("/no/such/page/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Cache-Control"] == ERROR.cache_control
    assert b"There is nothing at this address." in response.content


def test_the_missing_slash_redirect_gets_the_redirect_policy(client):
    response = client.get("/public")

    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "/public/"
    assert response["Cache-Control"] == REDIRECT.cache_control


def test_the_https_redirect_gets_the_redirect_policy(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/public/")

    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "https://testserver/public/"
    assert response["Cache-Control"] == REDIRECT.cache_control


def test_a_csrf_failure_gets_the_error_policy(settings):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/admin/login/")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response["Cache-Control"] == ERROR.cache_control


def test_a_disallowed_host_gets_the_error_policy(client):
    response = client.get("/public/", HTTP_HOST="evil.example")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Cache-Control"] == ERROR.cache_control


def test_a_server_error_gets_the_error_policy_and_the_site_page(client):
    client.raise_request_exception = False

    response = client.get("/crash/")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response["Cache-Control"] == ERROR.cache_control
    assert b"Something went wrong" in response.content


@pytest.mark.parametrize("url", ["/admin/", "/admin/login/"])
def test_the_admin_is_never_stored(client, url):
    response = client.get(url)

    assert response["Cache-Control"] == ADMIN.cache_control
    assert "Expires" not in response.headers


def test_a_304_carries_no_false_content_length(client):
    response = client.get("/not-modified/")

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response["Cache-Control"] == PAGE.cache_control
    assert "Content-Length" not in response.headers


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://hitrate.example", "https://hitrate.example"),
        ("https://evil.example", None),
    ],
)
def test_a_cors_preflight_gets_the_preflight_policy(client, settings, origin, allowed):
    settings.CORS_ALLOWED_ORIGINS = ["https://hitrate.example"]

    response = client.options(
        "/api/comments/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, if-match",
        },
    )

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PREFLIGHT.cache_control
    assert response.get("Access-Control-Allow-Origin") == allowed
    if allowed:
        assert response["Access-Control-Allow-Methods"] == (
            "GET, POST, PUT, DELETE, OPTIONS"
        )
        assert response["Access-Control-Allow-Headers"] == (
            "content-type, authorization, if-none-match, if-match"
        )


def test_cors_exposes_the_validators_to_allowed_origins(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://hitrate.example"]

    response = client.get(
        "/api/recommendations/", headers={"Origin": "https://hitrate.example"}
    )

    assert response["Access-Control-Allow-Origin"] == "https://hitrate.example"
    assert response["Access-Control-Expose-Headers"] == "ETag, Cache-Control"
    assert "Access-Control-Allow-Credentials" not in response.headers
