"""The personal API under /api/me/: session-authenticated, CSRF-protected,
never stored."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.db.models.query import QuerySet
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts import tokens
from caching.policies import ERROR, PERSONAL
from comments.models import Comment
from recommendations.models import Favorite, WatchHistory
from videos.models import Video

pytestmark = pytest.mark.django_db

JSON = "application/json"
SIGN_IN_FIRST = {"error": "Sign in first."}
MOMENT = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)
SOONER = MOMENT - datetime.timedelta(days=1)


def published(slug: str, seconds: float | None = 10) -> Video:
    return Video.objects.create(
        title=slug.title(),
        slug=slug,
        file=f"videos/video-{slug:a>64}.mp4",
        duration=None if seconds is None else datetime.timedelta(seconds=seconds),
        is_published=True,
        published_at=timezone.now() - datetime.timedelta(days=1),
    )


@pytest.fixture
def video(db):
    return published("first")


@pytest.fixture
def draft(db):
    return Video.objects.create(title="Draft", slug="draft")


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob")


def post(client, url, data, content_type=JSON):
    return client.post(url, data, content_type=content_type)


def nothing_written() -> bool:
    return not Favorite.objects.exists() and not WatchHistory.objects.exists()


# /api/me/


@pytest.mark.parametrize(
    ("kind", "expected_user"),
    [
        ("anonymous", None),
        ("signed-in", {"username": "someone", "is_staff": False}),
        ("staff", {"username": "someone", "is_staff": True}),
    ],
)
def test_me_says_who_is_signed_in_and_sets_the_csrf_cookie(client, kind, expected_user):
    if kind != "anonymous":
        user = get_user_model().objects.create_user("someone", is_staff=kind == "staff")
        client.force_login(user)

    response = client.get("/api/me/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PERSONAL.cache_control
    assert response["Content-Type"] == JSON
    assert response.cookies["csrftoken"].value
    body = response.json()
    assert body["user"] == expected_user
    if kind == "anonymous":
        assert body == {"user": None}
    else:
        assert body["counts"] == {"favorites": 0, "history": 0, "comments": 0}
        assert body["token_expires_in"] == tokens.MAX_AGE == 3600


def test_the_token_from_me_authenticates_its_user(alice_client, alice):
    token = alice_client.get("/api/me/").json()["token"]

    request = RequestFactory().post(
        "/api/comments/", headers={"Authorization": f"Bearer {token}"}
    )

    assert tokens.user_for(request) == alice


def test_me_counts_what_is_mine_on_published_videos(
    alice_client, alice, bob, video, draft, django_assert_num_queries
):
    other = published("other")
    for watched in (video, other, draft):
        WatchHistory.objects.create(user=alice, video=watched)
    for liked in (video, draft):
        Favorite.objects.create(user=alice, video=liked)
    Favorite.objects.create(user=bob, video=other)
    Comment.objects.create(video=video, author=alice, body="Shown")
    Comment.objects.create(video=video, author=alice, body="Hidden", is_hidden=True)
    Comment.objects.create(video=draft, author=alice, body="On a draft")
    Comment.objects.create(video=video, author=bob, body="Bob's")

    # The session, the user, and one plain count each.
    with django_assert_num_queries(5):
        response = alice_client.get("/api/me/")

    assert response.json()["counts"] == {"favorites": 1, "history": 2, "comments": 1}


def test_me_tells_a_video_s_favorite_state_and_resume_position(
    alice_client, alice, video
):
    Favorite.objects.create(user=alice, video=video)
    WatchHistory.objects.create(
        user=alice, video=video, position=datetime.timedelta(seconds=7.25)
    )

    response = alice_client.get("/api/me/?video=first")

    assert response["Cache-Control"] == PERSONAL.cache_control
    assert response.json()["video"] == {
        "slug": "first",
        "favorite": True,
        "position": 7.25,
    }


def test_me_tells_a_video_never_touched_apart(alice_client, alice, bob, video):
    Favorite.objects.create(user=bob, video=video)
    WatchHistory.objects.create(user=bob, video=video)

    response = alice_client.get("/api/me/?video=first")

    assert response.json()["video"] == {
        "slug": "first",
        "favorite": False,
        "position": None,
    }


@pytest.mark.parametrize("slug", ["nope", "draft"])
def test_me_does_not_know_an_unknown_or_unpublished_video(alice_client, draft, slug):
    response = alice_client.get(f"/api/me/?video={slug}")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Cache-Control"] == ERROR.cache_control
    assert response.json() == {"error": f"There is no published video {slug!r}."}


def test_me_answers_anonymous_visitors_without_looking_at_the_video(client):
    response = client.get("/api/me/?video=nope")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"user": None}


# Favorites


def test_favoriting_twice_keeps_one_favorite(alice_client, alice, video):
    first = post(alice_client, "/api/me/favorites/", {"video": "first"})
    again = post(alice_client, "/api/me/favorites/", {"video": "first"})

    assert (first.status_code, again.status_code) == (
        HTTPStatus.CREATED,
        HTTPStatus.OK,
    )
    assert first["Cache-Control"] == again["Cache-Control"] == PERSONAL.cache_control
    assert first["Location"] == "/api/me/favorites/first/"
    favorite = Favorite.objects.get()
    assert (favorite.user, favorite.video) == (alice, video)
    expected = {
        "slug": "first",
        "title": "First",
        "url": "/videos/first/",
        "favorited_at": favorite.created_at.isoformat(timespec="milliseconds")[:-6]
        + "Z",
    }
    assert first.json() == again.json() == expected


def test_a_favorite_inserted_by_a_racing_request_is_not_added_twice(
    alice_client, alice, video, monkeypatch
):
    # The other request's row lands between this one's read and its insert:
    # the unique constraint refuses the insert, and the answer is the row.
    Favorite.objects.create(user=alice, video=video)
    real_get = QuerySet.get
    hidden = []

    def miss_the_first_read(self, *args, **kwargs):
        if self.model is Favorite and not hidden:
            hidden.append(True)
            raise Favorite.DoesNotExist
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "get", miss_the_first_read)

    response = post(alice_client, "/api/me/favorites/", {"video": "first"})

    assert response.status_code == HTTPStatus.OK
    assert Favorite.objects.count() == 1


def test_favorites_are_listed_newest_first(alice_client, alice, bob, video, draft):
    older = published("older")
    for liked in (video, older, draft):
        Favorite.objects.create(user=alice, video=liked)
    Favorite.objects.create(user=bob, video=published("bobs"))
    Favorite.objects.filter(video=video).update(created_at=MOMENT)
    Favorite.objects.filter(video=older).update(created_at=SOONER)

    response = alice_client.get("/api/me/favorites/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PERSONAL.cache_control
    assert response.json() == [
        {
            "slug": "first",
            "title": "First",
            "url": "/videos/first/",
            "favorited_at": "2025-03-01T12:00:00Z",
        },
        {
            "slug": "older",
            "title": "Older",
            "url": "/videos/older/",
            "favorited_at": "2025-02-28T12:00:00Z",
        },
    ]


def test_one_favorite_can_be_read(alice_client, alice, video):
    Favorite.objects.create(user=alice, video=video)
    Favorite.objects.update(created_at=MOMENT)

    response = alice_client.get("/api/me/favorites/first/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PERSONAL.cache_control
    assert response.json() == {
        "slug": "first",
        "title": "First",
        "url": "/videos/first/",
        "favorited_at": "2025-03-01T12:00:00Z",
    }


def test_unfavoriting_deletes_once_then_is_not_found(alice_client, alice, bob, video):
    Favorite.objects.create(user=alice, video=video)
    Favorite.objects.create(user=bob, video=video)

    deleted = alice_client.delete("/api/me/favorites/first/")
    again = alice_client.delete("/api/me/favorites/first/")

    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert deleted["Cache-Control"] == PERSONAL.cache_control
    assert deleted.content == b""
    assert again.status_code == HTTPStatus.NOT_FOUND
    assert again["Cache-Control"] == ERROR.cache_control
    assert again.json() == {"error": "'first' is not a favorite."}
    assert list(Favorite.objects.values_list("user__username", flat=True)) == ["bob"]


def test_reading_a_video_that_is_not_a_favorite_is_not_found(alice_client, video):
    response = alice_client.get("/api/me/favorites/first/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"error": "'first' is not a favorite."}


@pytest.mark.parametrize("slug", ["nope", "draft"])
@pytest.mark.parametrize("method", ["get", "delete"])
def test_a_favorite_of_an_unknown_or_unpublished_video_is_not_found(
    alice_client, alice, draft, slug, method
):
    Favorite.objects.create(user=alice, video=draft)

    response = getattr(alice_client, method)(f"/api/me/favorites/{slug}/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Cache-Control"] == ERROR.cache_control
    assert response.json() == {"error": f"There is no published video {slug!r}."}
    assert Favorite.objects.count() == 1


# History


def test_recording_a_position_upserts_one_entry(alice_client, alice, video):
    first = post(alice_client, "/api/me/history/", {"video": "first", "position": 2})
    entry = WatchHistory.objects.get()
    WatchHistory.objects.update(watched_at=SOONER)

    again = post(alice_client, "/api/me/history/", {"video": "first", "position": 7.5})

    assert (first.status_code, again.status_code) == (HTTPStatus.OK, HTTPStatus.OK)
    assert again["Cache-Control"] == PERSONAL.cache_control
    assert first.json()["position"] == 2.0
    updated = WatchHistory.objects.get()
    assert updated.pk == entry.pk
    assert updated.position == datetime.timedelta(seconds=7.5)
    assert updated.watched_at > SOONER
    assert again.json() == {
        "slug": "first",
        "title": "First",
        "url": "/videos/first/",
        "position": 7.5,
        "watched_at": updated.watched_at.isoformat(timespec="milliseconds")[:-6] + "Z",
    }


@pytest.mark.parametrize("position", [0, 10, 10.0])
def test_a_position_may_be_anywhere_in_the_video(alice_client, video, position):
    response = post(
        alice_client, "/api/me/history/", {"video": "first", "position": position}
    )

    assert response.status_code == HTTPStatus.OK
    assert WatchHistory.objects.get().position.total_seconds() == position


def test_a_position_in_a_video_of_unknown_length_has_no_upper_bound(alice_client):
    published("endless", seconds=None)

    response = post(
        alice_client, "/api/me/history/", {"video": "endless", "position": 86400}
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["position"] == 86400.0


def test_history_is_listed_last_watched_first(alice_client, alice, bob, video, draft):
    older = published("older")
    for watched, moment, seconds in [
        (older, SOONER, 3),
        (video, MOMENT, 1.5),
        (draft, MOMENT, 4),
    ]:
        WatchHistory.objects.create(
            user=alice,
            video=watched,
            watched_at=moment,
            position=datetime.timedelta(seconds=seconds),
        )
    WatchHistory.objects.create(user=bob, video=published("bobs"), watched_at=MOMENT)

    response = alice_client.get("/api/me/history/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PERSONAL.cache_control
    assert response.json() == [
        {
            "slug": "first",
            "title": "First",
            "url": "/videos/first/",
            "position": 1.5,
            "watched_at": "2025-03-01T12:00:00Z",
        },
        {
            "slug": "older",
            "title": "Older",
            "url": "/videos/older/",
            "position": 3.0,
            "watched_at": "2025-02-28T12:00:00Z",
        },
    ]


OUTSIDE = "position must be from 0 to 10 seconds, the video's length."
NOT_A_NUMBER = "position must be a number of seconds."
NEGATIVE = "position must be 0 seconds or more."


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('{"video": "first", "position": -1}', OUTSIDE),
        ('{"video": "first", "position": 10.01}', OUTSIDE),
        ('{"video": "first", "position": NaN}', OUTSIDE),
        ('{"video": "first", "position": Infinity}', OUTSIDE),
        ('{"video": "first", "position": "3"}', NOT_A_NUMBER),
        ('{"video": "first", "position": true}', NOT_A_NUMBER),
        ('{"video": "first", "position": null}', NOT_A_NUMBER),
        ('{"video": "first", "position": [1]}', NOT_A_NUMBER),
        ('{"video": "endless", "position": -0.5}', NEGATIVE),
        ('{"video": "endless", "position": Infinity}', NEGATIVE),
        ('{"video": "endless", "position": NaN}', NEGATIVE),
    ],
)
def test_a_position_outside_the_video_is_refused(alice_client, video, body, error):
    published("endless", seconds=None)

    response = post(alice_client, "/api/me/history/", body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Cache-Control"] == ERROR.cache_control
    assert response.json() == {"error": error}
    assert nothing_written()


# What every personal endpoint shares


PERSONAL_CALLS = [
    ("get", "/api/me/favorites/", None),
    ("post", "/api/me/favorites/", {"video": "first"}),
    ("get", "/api/me/favorites/first/", None),
    ("delete", "/api/me/favorites/first/", None),
    ("get", "/api/me/history/", None),
    ("post", "/api/me/history/", {"video": "first", "position": 1}),
]


@pytest.mark.parametrize(("method", "url", "data"), PERSONAL_CALLS)
def test_anonymous_visitors_must_sign_in_first(client, bob, video, method, url, data):
    Favorite.objects.create(user=bob, video=video)

    response = getattr(client, method)(url, data, content_type=JSON)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Cache-Control"] == ERROR.cache_control
    assert response.json() == SIGN_IN_FIRST
    assert Favorite.objects.count() == 1
    assert not WatchHistory.objects.exists()


WRITES = [
    ("post", "/api/me/favorites/", {"video": "first"}, HTTPStatus.CREATED),
    ("delete", "/api/me/favorites/first/", None, HTTPStatus.NO_CONTENT),
    ("post", "/api/me/history/", {"video": "first", "position": 1}, HTTPStatus.OK),
]


@pytest.mark.parametrize(("method", "url", "data", "status"), WRITES)
def test_writes_need_the_csrf_token_from_the_cookie(
    alice, video, method, url, data, status
):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    if method == "delete":
        Favorite.objects.create(user=alice, video=video)
    before = (Favorite.objects.count(), WatchHistory.objects.count())
    send = getattr(client, method)

    refused = send(url, data, content_type=JSON)
    unchanged = (Favorite.objects.count(), WatchHistory.objects.count())
    client.get("/api/me/")
    accepted = send(
        url,
        data,
        content_type=JSON,
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )

    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused["Cache-Control"] == ERROR.cache_control
    assert refused.json() == {
        "error": "CSRF check failed: CSRF cookie not set. Send the csrftoken "
        "cookie's value in an X-CSRFToken header."
    }
    assert unchanged == before
    assert accepted.status_code == status
    assert accepted["Cache-Control"] == PERSONAL.cache_control


@pytest.mark.parametrize(
    ("url", "method", "allow"),
    [
        ("/api/me/", "post", "GET, HEAD"),
        ("/api/me/favorites/", "put", "GET, POST, HEAD"),
        ("/api/me/favorites/first/", "post", "GET, DELETE, HEAD"),
        ("/api/me/history/", "delete", "GET, POST, HEAD"),
    ],
)
def test_other_methods_are_not_allowed(alice_client, video, url, method, allow):
    response = getattr(alice_client, method)(url)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == allow
    assert response["Cache-Control"] == ERROR.cache_control
    assert response.json() == {"error": f"{method.upper()} is not allowed here."}


FAVORITES, HISTORY = "/api/me/favorites/", "/api/me/history/"
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("url", "body", "content_type", "status", "error"),
    [
        (
            url,
            "video=first",
            FORM,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"Send JSON with Content-Type: application/json, not {FORM}.",
        )
        for url in (FAVORITES, HISTORY)
    ]
    + [
        (
            url,
            "{",
            JSON,
            HTTPStatus.BAD_REQUEST,
            "The body is not valid JSON: Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1).",
        )
        for url in (FAVORITES, HISTORY)
    ]
    + [
        (url, "[]", JSON, HTTPStatus.BAD_REQUEST, "The body must be a JSON object.")
        for url in (FAVORITES, HISTORY)
    ]
    + [
        (FAVORITES, {}, JSON, HTTPStatus.BAD_REQUEST, "Missing field(s): video."),
        (
            HISTORY,
            {"video": "first"},
            JSON,
            HTTPStatus.BAD_REQUEST,
            "Missing field(s): position.",
        ),
        (
            FAVORITES,
            {"video": "first", "position": 1},
            JSON,
            HTTPStatus.BAD_REQUEST,
            "Unknown field(s): position.",
        ),
        (
            HISTORY,
            {"video": "first", "position": 1, "note": "x"},
            JSON,
            HTTPStatus.BAD_REQUEST,
            "Unknown field(s): note.",
        ),
        (
            FAVORITES,
            {"video": 7},
            JSON,
            HTTPStatus.BAD_REQUEST,
            "video must be a video's slug.",
        ),
        (
            HISTORY,
            {"video": ["first"], "position": 1},
            JSON,
            HTTPStatus.BAD_REQUEST,
            "video must be a video's slug.",
        ),
    ]
    + [
        (
            url,
            body,
            JSON,
            HTTPStatus.NOT_FOUND,
            f"There is no published video {slug!r}.",
        )
        for slug in ("nope", "draft")
        for url, body in [
            (FAVORITES, {"video": slug}),
            (HISTORY, {"video": slug, "position": 1}),
        ]
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    alice_client, video, draft, url, body, content_type, status, error
):
    response = post(alice_client, url, body, content_type)

    assert response.status_code == status
    assert response["Cache-Control"] == ERROR.cache_control
    assert response.json() == {"error": error}
    assert nothing_written()
