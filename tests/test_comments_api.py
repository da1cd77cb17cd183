"""The comments API: cheap 304s for the list, If-Match for every change."""

from __future__ import annotations

import datetime
import importlib
import threading
import time
from http import HTTPStatus

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.utils import timezone
from django.utils.cache import has_vary_header

from accounts.tokens import MAX_AGE, issue
from caching.policies import COMMENTS, ERROR
from comments.models import Comment, touch_videos
from videos.models import Video

# The data migration that filled comments_count; its name starts with a digit.
count_migration = importlib.import_module("videos.migrations.0003_comments_count")

pytestmark = pytest.mark.django_db

LIST = "/api/comments/"
NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
LATER = NOW + datetime.timedelta(minutes=5)
SCRIPT = "<script>alert('hi')</script>"


def published(slug: str = "caching-101") -> Video:
    return Video.objects.create(
        title=slug.title(),
        slug=slug,
        is_published=True,
        published_at=NOW - datetime.timedelta(days=1),
    )


def user(name: str, **fields):
    return get_user_model().objects.create_user(name, **fields)


def bearer(someone) -> dict:
    return {"Authorization": f"Bearer {issue(someone)}"}


def version_of(video: Video) -> int:
    return Video.objects.get(pk=video.pk).comments_version


def list_etag(video: Video, page: int = 1) -> str:
    return f'"c-{video.pk}-{version_of(video)}-p{page}"'


def count_of(video: Video) -> int:
    """The stored count, checked against the comments it stands for."""
    stored = Video.objects.get(pk=video.pk).comments_count
    assert stored == Comment.objects.visible().filter(video=video).count()
    return stored


def detail(comment: Comment) -> str:
    return f"/api/comments/{comment.pk}/"


def assert_error(response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})
    assert response["Cache-Control"] == ERROR.cache_control
    assert response["Content-Type"] == "application/json"


@pytest.fixture
def frozen(monkeypatch):
    """Stop the clock at NOW; call it with another time to move it."""

    def at(moment: datetime.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    at(NOW)
    return at


@pytest.fixture
def video(frozen):
    return published()


@pytest.fixture
def alice(db):
    return user("alice")


@pytest.fixture
def bob(db):
    return user("bob")


@pytest.fixture
def comment(video, alice):
    return Comment.objects.create(video=video, author=alice, body="First!")


def post(client, data, headers=None, **extra):
    return client.post(
        LIST, data, content_type="application/json", headers=headers, **extra
    )


def put(client, url, data, headers=None):
    return client.put(url, data, content_type="application/json", headers=headers)


# Reading the list.


def test_it_lists_a_videos_comments_with_a_cheap_etag(client, video, alice, bob):
    first = Comment.objects.create(video=video, author=alice, body="First!")
    second = Comment.objects.create(video=video, author=bob, body="Second.")
    Comment.objects.filter(pk=second.pk).update(
        created_at=LATER, updated_at=LATER, version=2
    )

    response = client.get(LIST, {"video": "caching-101"})

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == COMMENTS.cache_control
    # Each create bumped the version; the update() above did not.
    assert response["ETag"] == f'"c-{video.pk}-2-p1"' == list_etag(video)
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "video": "caching-101",
        "page": 1,
        "pages": 1,
        "count": 2,
        "comments": [
            {
                "id": second.pk,
                "url": f"/api/comments/{second.pk}/",
                "author": "bob",
                "body": "Second.",
                "created_at": "2026-01-02T03:09:05+00:00",
                "updated_at": "2026-01-02T03:09:05+00:00",
                "edited": True,
            },
            {
                "id": first.pk,
                "url": f"/api/comments/{first.pk}/",
                "author": "alice",
                "body": "First!",
                "created_at": "2026-01-02T03:04:05+00:00",
                "updated_at": "2026-01-02T03:04:05+00:00",
                "edited": False,
            },
        ],
    }


def test_it_pages_twenty_at_a_time_newest_first(client, video, alice, frozen):
    for minute in range(45):
        frozen(NOW + datetime.timedelta(minutes=minute))
        Comment.objects.create(video=video, author=alice, body=f"{minute}")

    pages = [client.get(LIST, {"video": video.slug, "page": n}) for n in (1, 2, 3)]

    assert [page.json()["page"] for page in pages] == [1, 2, 3]
    assert {(page.json()["pages"], page.json()["count"]) for page in pages} == {(3, 45)}
    bodies = [c["body"] for page in pages for c in page.json()["comments"]]
    assert bodies == [str(minute) for minute in range(44, -1, -1)]
    assert [len(page.json()["comments"]) for page in pages] == [20, 20, 5]
    assert [page["ETag"] for page in pages] == [
        f'"c-{video.pk}-45-p1"',
        f'"c-{video.pk}-45-p2"',
        f'"c-{video.pk}-45-p3"',
    ]


def test_a_video_without_comments_has_one_empty_page(client, video):
    response = client.get(LIST, {"video": video.slug})

    assert response.json() == {
        "video": video.slug,
        "page": 1,
        "pages": 1,
        "count": 0,
        "comments": [],
    }


def test_hidden_comments_are_not_listed(client, video, alice):
    Comment.objects.create(video=video, author=alice, body="Shown")
    Comment.objects.create(video=video, author=alice, body="Hidden", is_hidden=True)

    response = client.get(LIST, {"video": video.slug})

    assert [c["body"] for c in response.json()["comments"]] == ["Shown"]
    assert response.json()["count"] == 1


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({}, HTTPStatus.BAD_REQUEST, "Name a video: ?video=<slug>."),
        ({"video": ""}, HTTPStatus.BAD_REQUEST, "Name a video: ?video=<slug>."),
        (
            {"video": "nope"},
            HTTPStatus.NOT_FOUND,
            "No published video is 'nope'.",
        ),
        (
            {"video": "draft"},
            HTTPStatus.NOT_FOUND,
            "No published video is 'draft'.",
        ),
        (
            {"video": "caching-101", "page": "two"},
            HTTPStatus.BAD_REQUEST,
            "page must be a whole number from 1, not 'two'.",
        ),
        (
            {"video": "caching-101", "page": "0"},
            HTTPStatus.BAD_REQUEST,
            "page must be a whole number from 1, not '0'.",
        ),
        (
            {"video": "caching-101", "page": "-1"},
            HTTPStatus.BAD_REQUEST,
            "page must be a whole number from 1, not '-1'.",
        ),
        (
            {"video": "caching-101", "page": "2"},
            HTTPStatus.NOT_FOUND,
            "There is no page 2: the last page is 1.",
        ),
    ],
)
def test_a_bad_list_request_gets_a_clear_error(client, comment, query, status, message):
    Video.objects.create(title="Draft", slug="draft")

    response = client.get(LIST, query)

    assert_error(response, status, message)
    assert "ETag" not in response.headers


def test_a_video_published_in_the_future_has_no_comments_yet(client, frozen):
    Video.objects.create(
        title="Soon", slug="soon", is_published=True, published_at=LATER
    )

    response = client.get(LIST, {"video": "soon"})

    assert_error(response, HTTPStatus.NOT_FOUND, "No published video is 'soon'.")


# Conditional GET of the list (RFC 9110 section 13.1.2).


def test_the_304_flow(client, video, alice):
    Comment.objects.create(video=video, author=alice, body="First!")
    before = version_of(video)
    first = client.get(LIST, {"video": video.slug})
    etag = first["ETag"]

    unchanged = client.get(LIST, {"video": video.slug}, headers={"If-None-Match": etag})

    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED
    assert unchanged["ETag"] == etag
    assert unchanged["Cache-Control"] == COMMENTS.cache_control
    assert unchanged.content == b""
    assert "Content-Type" not in unchanged.headers
    assert "Content-Length" not in unchanged.headers

    posted = post(client, {"video": video.slug, "body": "Second."}, bearer(alice))
    changed = client.get(LIST, {"video": video.slug}, headers={"If-None-Match": etag})

    assert posted.status_code == HTTPStatus.CREATED
    assert changed.status_code == HTTPStatus.OK
    assert changed["ETag"] == f'"c-{video.pk}-{before + 1}-p1"'
    assert changed["ETag"] != etag
    assert changed["Cache-Control"] == COMMENTS.cache_control
    assert [c["body"] for c in changed.json()["comments"]] == ["Second.", "First!"]


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ("{etag}", HTTPStatus.NOT_MODIFIED),
        # A CDN that compresses the response weakens its ETag; the weak
        # comparison still matches it.
        ("W/{etag}", HTTPStatus.NOT_MODIFIED),
        ('"other", {etag}', HTTPStatus.NOT_MODIFIED),
        ("*", HTTPStatus.NOT_MODIFIED),
        ('"other"', HTTPStatus.OK),
        ('"c-{video}-{version}-p2"', HTTPStatus.OK),
        ('"c-{video}-99-p1"', HTTPStatus.OK),
    ],
)
def test_if_none_match_compares_weakly(client, comment, video, if_none_match, status):
    value = if_none_match.format(
        etag=list_etag(video), video=video.pk, version=version_of(video)
    )

    response = client.get(LIST, {"video": video.slug}, headers={"If-None-Match": value})

    assert response.status_code == status
    assert response["ETag"] == list_etag(video)
    assert response["Cache-Control"] == COMMENTS.cache_control


def test_the_304_costs_one_query_and_reads_no_comment(
    client, video, alice, django_assert_num_queries
):
    for n in range(30):
        Comment.objects.create(video=video, author=alice, body=f"{n}")
    etag = list_etag(video)

    with django_assert_num_queries(1) as captured:
        response = client.get(
            LIST, {"video": video.slug}, headers={"If-None-Match": etag}
        )

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert "comments_comment" not in captured.captured_queries[0]["sql"]


@pytest.mark.parametrize("how_many", [5, 60])
def test_the_list_costs_two_queries_however_many_comments(
    client, video, how_many, django_assert_num_queries
):
    authors = [user(f"viewer{n}") for n in range(how_many)]
    Comment.objects.bulk_create(
        Comment(video=video, author=author, body="Hello") for author in authors
    )
    # bulk_create skips Comment.save(), which keeps the count.
    touch_videos([video.pk])

    # The video with its version and count, then one page of comments with
    # their authors: no COUNT over the comments.
    with django_assert_num_queries(2) as captured:
        response = client.get(LIST, {"video": video.slug})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == how_many
    assert len(response.json()["comments"]) == min(how_many, 20)
    assert "COUNT(" not in " ".join(q["sql"].upper() for q in captured)


@pytest.fixture(params=["anonymous", "signed-in", "staff"])
def visitor(request, client):
    if request.param != "anonymous":
        client.force_login(user("someone", is_staff=request.param == "staff"))
    return client


def test_reading_never_touches_the_session(visitor, comment, video):
    for headers in ({}, {"If-None-Match": list_etag(video)}):
        for url in (f"{LIST}?video={video.slug}", detail(comment)):
            response = visitor.get(url, headers=headers)

            assert response["Cache-Control"] == COMMENTS.cache_control
            assert "Set-Cookie" not in response.headers
            assert not response.cookies
            assert not has_vary_header(response, "Cookie")


# Reading one comment.


def test_it_shows_one_comment_with_its_strong_etag(client, comment):
    response = client.get(detail(comment))

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == COMMENTS.cache_control
    assert response["ETag"] == f'"{comment.pk}.1"'
    assert response.json() == {
        "id": comment.pk,
        "url": f"/api/comments/{comment.pk}/",
        "author": "alice",
        "body": "First!",
        "created_at": "2026-01-02T03:04:05+00:00",
        "updated_at": "2026-01-02T03:04:05+00:00",
        "edited": False,
    }


@pytest.mark.parametrize("if_none_match", ['"{pk}.1"', 'W/"{pk}.1"', "*"])
def test_an_unchanged_comment_costs_a_304(
    client, comment, if_none_match, django_assert_num_queries
):
    value = if_none_match.format(pk=comment.pk)

    with django_assert_num_queries(1):
        response = client.get(detail(comment), headers={"If-None-Match": value})

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response["ETag"] == f'"{comment.pk}.1"'
    assert response["Cache-Control"] == COMMENTS.cache_control
    assert response.content == b""


def test_a_changed_comment_is_sent_again(client, comment):
    response = client.get(
        detail(comment), headers={"If-None-Match": f'"{comment.pk}.0"'}
    )

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] == f'"{comment.pk}.1"'


@pytest.mark.parametrize("method", ["get", "put", "delete"])
@pytest.mark.parametrize("case", ["hidden", "draft video", "unknown"])
def test_a_comment_nobody_may_see_is_not_found(client, comment, alice, method, case):
    if case == "hidden":
        Comment.objects.filter(pk=comment.pk).update(is_hidden=True)
    elif case == "draft video":
        Video.objects.filter(pk=comment.video_id).update(is_published=False)
    pk = comment.pk + 1 if case == "unknown" else comment.pk
    headers = {**bearer(alice), "If-Match": f'"{comment.pk}.1"'}

    response = getattr(client, method)(
        f"/api/comments/{pk}/",
        {"body": "Changed"},
        content_type="application/json",
        headers=headers,
    )

    assert_error(response, HTTPStatus.NOT_FOUND, f"There is no comment {pk}.")
    assert Comment.objects.get(pk=comment.pk).body == "First!"


# Posting.


def test_a_signed_in_user_posts_a_comment(client, video, alice):
    before = version_of(video)

    response = post(client, {"video": video.slug, "body": "  Nice!\n"}, bearer(alice))

    created = Comment.objects.get()
    assert response.status_code == HTTPStatus.CREATED
    assert response["Location"] == f"/api/comments/{created.pk}/"
    assert response["ETag"] == f'"{created.pk}.1"'
    assert response["Cache-Control"] == COMMENTS.cache_control
    assert response.json() == {
        "id": created.pk,
        "url": f"/api/comments/{created.pk}/",
        "author": "alice",
        "body": "Nice!",
        "created_at": "2026-01-02T03:04:05+00:00",
        "updated_at": "2026-01-02T03:04:05+00:00",
        "edited": False,
    }
    assert (created.author, created.video, created.body) == (alice, video, "Nice!")
    assert version_of(video) == before + 1


def test_a_body_of_exactly_the_limit_is_accepted(client, video, alice):
    body = "x" * 2000

    response = post(client, {"video": video.slug, "body": f" {body} "}, bearer(alice))

    assert response.status_code == HTTPStatus.CREATED
    assert Comment.objects.get().body == body


def test_a_script_comes_back_as_text(client, video, alice):
    post(client, {"video": video.slug, "body": SCRIPT}, bearer(alice))

    response = client.get(LIST, {"video": video.slug})

    assert response.json()["comments"][0]["body"] == SCRIPT
    assert SCRIPT.encode() in response.content
    assert response["Content-Type"] == "application/json"
    # Browsers must not guess HTML from a JSON body that contains markup.
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (
            "video=caching-101&body=hi",
            "application/x-www-form-urlencoded",
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "Send JSON with Content-Type: application/json, not "
            "application/x-www-form-urlencoded.",
        ),
        (
            '{"video": "caching-101", "body": "hi"',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "The body is not valid JSON: Expecting ',' delimiter: "
            "line 1 column 38 (char 37).",
        ),
        (
            '["caching-101", "hi"]',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "The body must be a JSON object.",
        ),
        (
            '{"body": "hi"}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "Missing field(s): video.",
        ),
        (
            '{"video": "caching-101", "body": "hi", "author": "bob"}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "Unknown field(s): author.",
        ),
        (
            '{"video": "caching-101", "body": 42}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "body must be a string.",
        ),
        (
            '{"video": ["caching-101"], "body": "hi"}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "video must be a slug in a string.",
        ),
        (
            '{"video": "caching-101", "body": ""}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "body is empty: write something.",
        ),
        (
            '{"video": "caching-101", "body": " \\n\\t "}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "body is empty: write something.",
        ),
        (
            '{"video": "caching-101", "body": "' + "x" * 2001 + '"}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "body is 2001 characters long; the limit is 2000.",
        ),
        (
            '{"video": "nope", "body": "hi"}',
            "application/json",
            HTTPStatus.NOT_FOUND,
            "No published video is 'nope'.",
        ),
        (
            '{"video": "draft", "body": "hi"}',
            "application/json",
            HTTPStatus.NOT_FOUND,
            "No published video is 'draft'.",
        ),
    ],
)
def test_a_bad_post_writes_nothing(
    client, video, alice, body, content_type, status, message
):
    Video.objects.create(title="Draft", slug="draft")
    before = version_of(video)

    response = client.post(LIST, body, content_type=content_type, headers=bearer(alice))

    assert_error(response, status, message)
    assert not Comment.objects.exists()
    assert version_of(video) == before


# Signing in: a bearer token, on every write.


def expired_token(someone, monkeypatch) -> str:
    issued_at = time.time() - MAX_AGE - 1
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: issued_at)
        return issue(someone)


@pytest.mark.parametrize(
    ("credentials", "challenge", "message"),
    [
        (
            "none",
            "Bearer",
            "Sign in to write: send Authorization: Bearer <token>.",
        ),
        (
            "basic",
            "Bearer",
            "Sign in to write: send Authorization: Bearer <token>.",
        ),
        (
            "forged",
            'Bearer error="invalid_token"',
            "The token is not valid: fetch a new one from /api/me/.",
        ),
        (
            "expired",
            'Bearer error="invalid_token"',
            "The token has expired: fetch a new one from /api/me/.",
        ),
        (
            "password changed",
            'Bearer error="invalid_token"',
            "The token is not valid: fetch a new one from /api/me/.",
        ),
    ],
)
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_every_write_needs_a_valid_bearer_token(
    client, comment, video, alice, monkeypatch, credentials, challenge, message, method
):
    # A session cookie is not a credential here.
    client.force_login(alice)
    authorization = {
        "none": None,
        "basic": "Basic YWxpY2U6cGFzc3dvcmQ=",
        "forged": f"Bearer {issue(alice)[:-2]}xx",
        "expired": f"Bearer {expired_token(alice, monkeypatch)}",
        "password changed": f"Bearer {issue(alice)}",
    }[credentials]
    if credentials == "password changed":
        alice.set_password("a new password")
        alice.save()
    headers = {"If-Match": comment.etag}
    if authorization:
        headers["Authorization"] = authorization
    url = LIST if method == "post" else detail(comment)
    before = version_of(video)

    response = getattr(client, method)(
        url,
        {"video": video.slug, "body": "Changed"},
        content_type="application/json",
        headers=headers,
    )

    assert_error(response, HTTPStatus.UNAUTHORIZED, message)
    assert response["WWW-Authenticate"] == challenge
    assert list(Comment.objects.values_list("body", flat=True)) == ["First!"]
    assert version_of(video) == before


def test_writes_need_no_csrf_token(video, alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)

    response = post(browser, {"video": video.slug, "body": "Hi"}, bearer(alice))

    assert response.status_code == HTTPStatus.CREATED


# Editing and deleting: the author or staff, with If-Match.


def test_the_author_edits_a_comment_with_if_match(client, comment, video, alice):
    before = version_of(video)

    response = put(
        client,
        detail(comment),
        {"body": " Edited. "},
        {**bearer(alice), "If-Match": f'"{comment.pk}.1"'},
    )

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] == f'"{comment.pk}.2"'
    assert response["Cache-Control"] == COMMENTS.cache_control
    assert response.json() == {
        "id": comment.pk,
        "url": f"/api/comments/{comment.pk}/",
        "author": "alice",
        "body": "Edited.",
        "created_at": "2026-01-02T03:04:05+00:00",
        "updated_at": "2026-01-02T03:04:05+00:00",
        "edited": True,
    }
    stored = Comment.objects.get()
    assert (stored.body, stored.version) == ("Edited.", 2)
    assert version_of(video) == before + 1
    assert client.get(detail(comment))["ETag"] == f'"{comment.pk}.2"'


def test_an_edit_moves_updated_at(client, comment, alice, frozen):
    frozen(LATER)

    response = put(
        client,
        detail(comment),
        {"body": "Edited."},
        {**bearer(alice), "If-Match": comment.etag},
    )

    assert response.json()["updated_at"] == "2026-01-02T03:09:05+00:00"
    assert Comment.objects.get().updated_at == LATER


def test_the_author_deletes_a_comment_with_if_match(client, comment, video, alice):
    before = version_of(video)

    response = client.delete(
        detail(comment), headers={**bearer(alice), "If-Match": comment.etag}
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response["Cache-Control"] == COMMENTS.cache_control
    assert response.content == b""
    assert not Comment.objects.exists()
    assert version_of(video) == before + 1


def change(client, method: str, comment: Comment, headers: dict):
    if method == "put":
        return put(client, detail(comment), {"body": "Changed"}, headers)
    return client.delete(detail(comment), headers=headers)


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_change_without_if_match_is_refused_with_428(
    client, comment, video, alice, method
):
    before = version_of(video)

    response = change(client, method, comment, bearer(alice))

    assert_error(
        response,
        HTTPStatus.PRECONDITION_REQUIRED,
        "Send If-Match with the comment's ETag, so that a change you have not "
        "seen is never overwritten.",
    )
    assert Comment.objects.get().body == "First!"
    assert version_of(video) == before


@pytest.mark.parametrize("method", ["put", "delete"])
@pytest.mark.parametrize(
    "if_match",
    [
        '"{pk}.0"',
        '"{pk}.2"',
        '"other", "{pk}.3"',
        # If-Match compares strongly (RFC 9110 section 13.1.1).
        'W/"{pk}.1"',
    ],
)
def test_a_change_with_a_stale_etag_fails_with_412(
    client, comment, video, alice, method, if_match
):
    headers = {**bearer(alice), "If-Match": if_match.format(pk=comment.pk)}
    before = version_of(video)

    response = change(client, method, comment, headers)

    assert_error(
        response,
        HTTPStatus.PRECONDITION_FAILED,
        "The comment has changed since you read it: fetch it again.",
    )
    assert Comment.objects.get().body == "First!"
    assert version_of(video) == before


@pytest.mark.parametrize("if_match", ['"other", "{pk}.1"', "*"])
def test_if_match_accepts_a_list_or_any(client, comment, alice, if_match):
    headers = {**bearer(alice), "If-Match": if_match.format(pk=comment.pk)}

    response = change(client, "put", comment, headers)

    assert response.status_code == HTTPStatus.OK
    assert Comment.objects.get().body == "Changed"


def test_the_second_of_two_edits_from_the_same_etag_gets_412(
    client, comment, alice, staff
):
    etag = client.get(detail(comment))["ETag"]

    first = put(
        client, detail(comment), {"body": "Mine"}, {**bearer(alice), "If-Match": etag}
    )
    second = put(
        client, detail(comment), {"body": "Ours"}, {**bearer(staff), "If-Match": etag}
    )

    assert first.status_code == HTTPStatus.OK
    assert second.status_code == HTTPStatus.PRECONDITION_FAILED
    assert Comment.objects.get().body == "Mine"


def test_the_update_itself_checks_the_version(comment, video):
    # Both writers read version 1 before either wrote: the check in the view
    # passed for both, and only the conditional UPDATE can tell them apart.
    mine, theirs = Comment.objects.get(), Comment.objects.get()
    before = version_of(video)

    assert mine.revise("Mine") is True
    assert theirs.revise("Theirs") is False
    assert theirs.withdraw() is False
    stored = Comment.objects.get()
    assert (stored.body, stored.version) == ("Mine", 2)
    assert version_of(video) == before + 1


def revise_when_unlocked(comment: Comment, body: str) -> bool:
    """Retry while SQLite's shared in-memory test database is locked.

    PostgreSQL makes the second UPDATE wait for the first to commit. SQLite's
    shared cache refuses it at once ("database table is locked") and rolls
    the transaction back; retrying is the wait PostgreSQL does, and the
    comment object still holds the version read before either wrote.
    """
    for _ in range(200):
        try:
            return comment.revise(body)
        except OperationalError as problem:
            if "locked" not in str(problem):
                raise
            time.sleep(0.01)
    raise AssertionError("the database stayed locked")


@pytest.mark.django_db(transaction=True)
def test_two_threads_racing_with_the_same_version_one_wins():
    video = published()
    comment = Comment.objects.create(video=video, author=user("alice"), body="0")
    before = version_of(video)
    both_read = threading.Barrier(2, timeout=10)
    results = {}

    def edit(name: str) -> None:
        try:
            mine = Comment.objects.get(pk=comment.pk)
            both_read.wait()
            results[name] = revise_when_unlocked(mine, name)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = Comment.objects.get()
    assert sorted(results.values()) == [False, True]
    assert stored.body == next(name for name, won in results.items() if won)
    assert (stored.version, version_of(video)) == (2, before + 1)


@pytest.mark.parametrize(
    ("writer", "status"),
    [
        ("author", HTTPStatus.OK),
        ("staff", HTTPStatus.OK),
        ("someone else", HTTPStatus.FORBIDDEN),
        ("someone else on staff", HTTPStatus.OK),
    ],
)
@pytest.mark.parametrize("method", ["put", "delete"])
def test_only_the_author_or_staff_may_change_a_comment(
    client, comment, alice, bob, staff, writer, status, method
):
    someone = {
        "author": alice,
        "staff": staff,
        "someone else": bob,
        "someone else on staff": user("moderator", is_staff=True),
    }[writer]

    response = change(
        client, method, comment, {**bearer(someone), "If-Match": comment.etag}
    )

    if status == HTTPStatus.FORBIDDEN:
        assert_error(
            response, status, "Only the author or staff may change this comment."
        )
        assert Comment.objects.get().body == "First!"
    else:
        assert response.status_code in (HTTPStatus.OK, HTTPStatus.NO_CONTENT)
        assert not Comment.objects.filter(body="First!").exists()


def test_a_stranger_learns_nothing_from_if_match(client, comment, bob):
    # Ownership comes before preconditions (RFC 9110 section 13.2.1).
    response = change(client, "put", comment, bearer(bob))

    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (
            "body=hi",
            "text/plain",
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "Send JSON with Content-Type: application/json, not text/plain.",
        ),
        (
            "{",
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "The body is not valid JSON: Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1).",
        ),
        ("{}", "application/json", HTTPStatus.BAD_REQUEST, "Missing field(s): body."),
        (
            '{"body": "hi", "video": "other"}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "Unknown field(s): video.",
        ),
        (
            '{"body": null}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "body must be a string.",
        ),
        (
            '{"body": "   "}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "body is empty: write something.",
        ),
        (
            '{"body": "' + "y" * 2001 + '"}',
            "application/json",
            HTTPStatus.BAD_REQUEST,
            "body is 2001 characters long; the limit is 2000.",
        ),
    ],
)
def test_a_bad_edit_writes_nothing(
    client, comment, video, alice, body, content_type, status, message
):
    before = version_of(video)

    response = client.put(
        detail(comment),
        body,
        content_type=content_type,
        headers={**bearer(alice), "If-Match": comment.etag},
    )

    assert_error(response, status, message)
    stored = Comment.objects.get()
    assert (stored.body, stored.version) == ("First!", 1)
    assert version_of(video) == before


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("patch", LIST, "GET, POST, HEAD"),
        ("put", LIST, "GET, POST, HEAD"),
        ("delete", LIST, "GET, POST, HEAD"),
        ("post", "detail", "GET, PUT, DELETE, HEAD"),
        ("patch", "detail", "GET, PUT, DELETE, HEAD"),
    ],
)
def test_a_wrong_method_gets_405_with_allow(client, comment, alice, method, url, allow):
    url = detail(comment) if url == "detail" else LIST

    response = getattr(client, method)(url, headers=bearer(alice))

    assert_error(
        response,
        HTTPStatus.METHOD_NOT_ALLOWED,
        f"{method.upper()} is not allowed here.",
    )
    assert response["Allow"] == allow
    assert Comment.objects.get().body == "First!"


# Moderation in the admin.


def admin_action(client, action: str, *comments: Comment):
    return client.post(
        "/admin/comments/comment/",
        {"action": action, "_selected_action": [c.pk for c in comments]},
    )


def test_hiding_in_the_admin_changes_the_list_etag(staff_client, comment, video):
    version = version_of(video)
    before = staff_client.get(LIST, {"video": video.slug})["ETag"]

    hidden = admin_action(staff_client, "hide", comment)
    after_hiding = staff_client.get(
        LIST, {"video": video.slug}, headers={"If-None-Match": before}
    )
    shown = admin_action(staff_client, "show", comment)
    after_showing = staff_client.get(
        LIST, {"video": video.slug}, headers={"If-None-Match": after_hiding["ETag"]}
    )

    assert hidden.status_code == shown.status_code == HTTPStatus.FOUND
    assert after_hiding.status_code == HTTPStatus.OK
    assert after_hiding["ETag"] == f'"c-{video.pk}-{version + 1}-p1"'
    assert after_hiding.json()["comments"] == []
    assert after_showing.status_code == HTTPStatus.OK
    assert after_showing["ETag"] == f'"c-{video.pk}-{version + 2}-p1"'
    assert [c["id"] for c in after_showing.json()["comments"]] == [comment.pk]


def test_hiding_a_hidden_comment_changes_nothing(staff_client, comment, video):
    Comment.objects.filter(pk=comment.pk).update(is_hidden=True)
    before = version_of(video)

    admin_action(staff_client, "hide", comment)

    assert version_of(video) == before


def test_an_admin_edit_gives_the_comment_a_new_etag(staff_client, comment, video):
    before = version_of(video)

    response = staff_client.post(
        f"/admin/comments/comment/{comment.pk}/change/",
        {"video": video.pk, "author": comment.author_id, "body": "Moderated."},
    )

    assert response.status_code == HTTPStatus.FOUND
    stored = Comment.objects.get()
    assert (stored.body, stored.version) == ("Moderated.", 2)
    assert version_of(video) > before


@pytest.mark.parametrize("how", ["one", "selected"])
def test_an_admin_delete_changes_the_list_etag(staff_client, comment, video, how):
    before = version_of(video)

    if how == "one":
        url = f"/admin/comments/comment/{comment.pk}/delete/"
        response = staff_client.post(url, {"post": "yes"})
    else:
        response = staff_client.post(
            "/admin/comments/comment/",
            {
                "action": "delete_selected",
                "_selected_action": [comment.pk],
                "post": "yes",
            },
        )

    assert response.status_code == HTTPStatus.FOUND
    assert not Comment.objects.exists()
    assert version_of(video) == before + 1


def test_deleting_an_author_changes_the_lists_they_wrote_on(comment, video):
    other = published("other")
    before = (version_of(video), version_of(other))

    comment.author.delete()

    assert not Comment.objects.exists()
    assert (version_of(video), version_of(other)) == (before[0] + 1, before[1])


def test_an_admin_edit_bumps_the_list_once(staff_client, comment, video):
    before = version_of(video)

    staff_client.post(
        f"/admin/comments/comment/{comment.pk}/change/",
        {"video": video.pk, "author": comment.author_id, "body": "Moderated."},
    )

    assert version_of(video) == before + 1


def test_an_admin_move_recounts_both_videos(staff_client, comment, video):
    other = published("other")
    before = (version_of(video), version_of(other))

    response = staff_client.post(
        f"/admin/comments/comment/{comment.pk}/change/",
        {"video": other.pk, "author": comment.author_id, "body": "First!"},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert (count_of(video), count_of(other)) == (0, 1)
    assert version_of(video) > before[0]
    assert version_of(other) > before[1]


# The count of shown comments, kept on the video with its version.


def test_a_plain_create_changes_the_list_etag(client, comment, video, bob):
    cached = client.get(LIST, {"video": video.slug})["ETag"]
    before = version_of(video)

    Comment.objects.create(video=video, author=bob, body="Second.")
    response = client.get(
        LIST, {"video": video.slug}, headers={"If-None-Match": cached}
    )

    assert version_of(video) == before + 1
    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] == f'"c-{video.pk}-{before + 1}-p1"' != cached
    assert [c["body"] for c in response.json()["comments"]] == ["Second.", "First!"]
    assert response.json()["count"] == count_of(video) == 2


def test_the_count_follows_a_post_and_not_an_edit(client, video, alice):
    Comment.objects.create(video=video, author=alice, body="Hidden", is_hidden=True)

    posted = post(client, {"video": video.slug, "body": "Hi"}, bearer(alice))
    after_posting = count_of(video)
    edited = put(
        client,
        posted["Location"],
        {"body": "Hello"},
        {**bearer(alice), "If-Match": posted["ETag"]},
    )

    assert (posted.status_code, edited.status_code) == (
        HTTPStatus.CREATED,
        HTTPStatus.OK,
    )
    assert (after_posting, count_of(video)) == (1, 1)
    assert client.get(LIST, {"video": video.slug}).json()["count"] == 1


def test_the_count_follows_hiding_and_showing_in_the_admin(
    staff_client, comment, video, bob
):
    second = Comment.objects.create(video=video, author=bob, body="Second.")

    admin_action(staff_client, "hide", comment, second)
    after_hiding = count_of(video)
    admin_action(staff_client, "show", comment)

    assert (after_hiding, count_of(video)) == (0, 1)
    assert staff_client.get(LIST, {"video": video.slug}).json()["count"] == 1


def test_the_count_follows_a_delete_through_the_api(client, comment, video, bob):
    Comment.objects.create(video=video, author=bob, body="Second.")

    response = client.delete(
        detail(comment), headers={**bearer(comment.author), "If-Match": comment.etag}
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert count_of(video) == 1
    assert client.get(LIST, {"video": video.slug}).json()["count"] == 1


def test_the_count_follows_an_admin_delete(staff_client, comment, video, bob):
    Comment.objects.create(video=video, author=bob, body="Second.")

    response = staff_client.post(
        f"/admin/comments/comment/{comment.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert count_of(video) == 1


def test_the_count_follows_a_bulk_delete_in_the_admin(
    staff_client, comment, video, alice, bob
):
    other = published("other")
    kept = Comment.objects.create(video=video, author=bob, body="Kept.")
    elsewhere = Comment.objects.create(video=other, author=bob, body="Elsewhere.")
    Comment.objects.create(video=other, author=alice, body="Also kept.")
    before = (version_of(video), version_of(other))

    response = staff_client.post(
        "/admin/comments/comment/",
        {
            "action": "delete_selected",
            "_selected_action": [comment.pk, elsewhere.pk],
            "post": "yes",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    assert set(Comment.objects.values_list("video", "body")) == {
        (video.pk, kept.body),
        (other.pk, "Also kept."),
    }
    assert (count_of(video), count_of(other)) == (1, 1)
    assert (version_of(video), version_of(other)) == (before[0] + 1, before[1] + 1)


def test_deleting_an_author_recounts_the_videos_they_wrote_on(comment, video, bob):
    other, untouched = published("other"), published("untouched")
    Comment.objects.create(video=other, author=comment.author, body="Hidden.")
    Comment.objects.filter(video=other).update(is_hidden=True)
    Comment.objects.create(video=video, author=bob, body="Stays.")
    Comment.objects.create(video=untouched, author=bob, body="Stays too.")
    before = version_of(untouched)

    comment.author.delete()

    assert (count_of(video), count_of(other), count_of(untouched)) == (1, 0, 1)
    assert version_of(untouched) == before


def test_the_data_migration_counts_shown_comments(video, alice, bob):
    other, empty = published("other"), published("empty")
    for body in ("a", "b", "c"):
        Comment.objects.create(video=video, author=alice, body=body)
    Comment.objects.create(video=video, author=bob, body="d", is_hidden=True)
    Comment.objects.create(video=other, author=bob, body="e", is_hidden=True)
    # As if the column had just been added: every count is the default.
    Video.objects.update(comments_count=0)
    Video.objects.filter(pk=empty.pk).update(comments_count=7)

    count_migration.count_shown_comments(apps, None)

    counts = dict(Video.objects.values_list("slug", "comments_count"))
    assert counts == {video.slug: 3, "other": 0, "empty": 0}


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite lets one writer at a time in, so the race cannot happen.",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_are_both_counted():
    video = published()
    authors = [user("alice"), user("bob")]
    first_saved = threading.Event()

    def write(author, wait: bool) -> None:
        try:
            if wait:
                first_saved.wait(timeout=10)
            with transaction.atomic():
                Comment.objects.create(video=video, author=author, body="Hi")
                if not wait:
                    # Hold the video's row until the second writer's UPDATE
                    # is waiting for it.
                    first_saved.set()
                    time.sleep(0.5)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(author, n == 1))
        for n, author in enumerate(authors)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert count_of(video) == 2
    assert version_of(video) == 2
