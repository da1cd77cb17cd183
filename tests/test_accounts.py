"""Signing up, in and out, and the personal /me/ page: nothing stored."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client
from django.utils import timezone

from accounts.templatetags.playtime import playtime
from caching.policies import ACCOUNT, ERROR, PERSONAL
from recommendations.models import Favorite, WatchHistory
from videos.models import Video

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-viewer-password"
BAD_LOGIN = (
    "Please enter a correct username and password. Note that both fields may "
    "be case-sensitive."
)
MOMENT = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)


def published(slug: str, **fields) -> Video:
    return Video.objects.create(
        title=slug.title(),
        slug=slug,
        file=f"videos/video-{slug:a>64}.mp4",
        is_published=True,
        published_at=timezone.now() - datetime.timedelta(days=1),
        **fields,
    )


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def signed_in_user_id(client) -> str | None:
    return client.session.get(SESSION_KEY)


@pytest.mark.parametrize("url", ["/accounts/signup/", "/accounts/signin/"])
def test_account_forms_are_never_stored(visitor, url):
    response = visitor.get(url)

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == ACCOUNT.cache_control
    # Django's never_cache adds Expires; the policy keeps one statement.
    assert "Expires" not in response.headers
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_signing_up_creates_the_user_and_signs_them_in(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "newcomer", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/me/"
    assert response["Cache-Control"] == ACCOUNT.cache_control
    user = get_user_model().objects.get(username="newcomer")
    assert user.check_password(PASSWORD)
    assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            {"username": "newcomer", "password1": PASSWORD, "password2": "other"},
            "The two password fields didn\u2019t match.",
        ),
        (
            {"username": "alice", "password1": PASSWORD, "password2": PASSWORD},
            "A user with that username already exists.",
        ),
        (
            {"username": "newcomer", "password1": "short", "password2": "short"},
            "This password is too short. It must contain at least 8 characters.",
        ),
    ],
)
def test_a_refused_sign_up_shows_why_and_creates_nobody(client, alice, fields, error):
    response = client.post("/accounts/signup/", fields)

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == ACCOUNT.cache_control
    assert error in response.content.decode()
    assert list(get_user_model().objects.values_list("username", flat=True)) == [
        "alice"
    ]
    assert signed_in_user_id(client) is None


def test_signing_in_with_a_bad_password_shows_the_form_error(client, alice):
    response = client.post(
        "/accounts/signin/", {"username": "alice", "password": "wrong-password"}
    )

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == ACCOUNT.cache_control
    assert BAD_LOGIN in response.content.decode()
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        (None, "/me/"),
        ("/videos/first/", "/videos/first/"),
        # Another site is never a destination (an open redirect otherwise).
        ("https://elsewhere.example/", "/me/"),
    ],
)
def test_signing_in_goes_to_next_when_it_is_on_this_site(
    client, alice, next_url, location
):
    fields = {"username": "alice", "password": PASSWORD}
    if next_url:
        fields["next"] = next_url

    response = client.post("/accounts/signin/", fields)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == location
    assert response["Cache-Control"] == ACCOUNT.cache_control
    assert signed_in_user_id(client) == str(alice.pk)


def test_the_sign_in_form_carries_next_along(client):
    response = client.get("/accounts/signin/?next=/me/")

    assert b'<input type="hidden" name="next" value="/me/">' in response.content


def test_signing_out_signs_out_and_goes_home(alice_client):
    response = alice_client.post("/accounts/signout/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    assert response["Cache-Control"] == ACCOUNT.cache_control
    assert signed_in_user_id(alice_client) is None


def test_signing_out_takes_a_post_only(alice_client, alice):
    response = alice_client.get("/accounts/signout/")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST, OPTIONS"
    assert response["Cache-Control"] == ERROR.cache_control
    assert signed_in_user_id(alice_client) == str(alice.pk)


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/accounts/signup/", {"username": "x", "password1": "p", "password2": "p"}),
        ("/accounts/signin/", {"username": "alice", "password": PASSWORD}),
        ("/accounts/signout/", {}),
    ],
)
def test_account_forms_need_the_csrf_token(alice, url, fields):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(url, fields)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response["Cache-Control"] == ERROR.cache_control
    assert signed_in_user_id(client) == str(alice.pk)
    assert get_user_model().objects.count() == 1


def test_my_page_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/me/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/accounts/signin/?next=/me/"
    assert response["Cache-Control"] == PERSONAL.cache_control


@pytest.mark.parametrize("is_staff", [False, True], ids=["signed-in", "staff"])
def test_my_page_is_personal(client, is_staff):
    user = get_user_model().objects.create_user("someone", is_staff=is_staff)
    client.force_login(user)

    response = client.get("/me/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PERSONAL.cache_control
    assert b"<h1>someone</h1>" in response.content
    assert b"No favorites yet." in response.content
    assert b"Nothing watched yet." in response.content


def test_my_page_lists_my_favorites_and_history_newest_first(alice_client, alice):
    older, newer = published("older"), published("newer")
    draft = Video.objects.create(title="Draft", slug="draft")
    for video, minutes in [(older, 0), (newer, 5), (draft, 9)]:
        Favorite.objects.create(user=alice, video=video)
        WatchHistory.objects.create(
            user=alice,
            video=video,
            position=datetime.timedelta(seconds=65.5),
            watched_at=MOMENT + datetime.timedelta(minutes=minutes),
        )
    Favorite.objects.filter(video=newer).update(created_at=MOMENT)
    Favorite.objects.filter(video=older).update(
        created_at=MOMENT - datetime.timedelta(days=1)
    )
    bob = get_user_model().objects.create_user("bob")
    Favorite.objects.create(user=bob, video=published("bobs-pick"))

    response = alice_client.get("/me/")

    context = response.context
    assert [f.video.slug for f in context["favorites"]] == ["newer", "older"]
    assert [e.video.slug for e in context["history"]] == ["newer", "older"]
    html = response.content.decode()
    assert '<a href="/videos/newer/">' in html
    assert "<td>1:05</td>" in html
    assert "Draft" not in html
    assert "Bobs-Pick" not in html


@pytest.mark.parametrize(
    ("position", "shown"),
    [
        (None, ""),
        (datetime.timedelta(seconds=0), "0:00"),
        (datetime.timedelta(seconds=65.9), "1:05"),
        (datetime.timedelta(hours=1, minutes=2, seconds=3), "1:02:03"),
    ],
)
def test_positions_read_as_a_player_shows_them(position, shown):
    assert playtime(position) == shown
