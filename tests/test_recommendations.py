"""Recommendations: ranked ahead of time, served the same to everyone."""

from __future__ import annotations

import datetime
import io
import json
from collections import Counter
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone

from caching.policies import ERROR, RECOMMENDATIONS
from recommendations import ranking
from recommendations.models import Favorite, RecommendationList, WatchHistory
from videos.models import Video

pytestmark = pytest.mark.django_db

URL = "/api/recommendations/"
COMPUTED_AT = datetime.datetime(2025, 6, 2, 9, 0, 0, 123456, tzinfo=datetime.UTC)
COMPUTED_AT_ISO = "2025-06-02T09:00:00.123456+00:00"
ETAG = '"1748854800123456"'

# The hand-built dataset below, ranked by hand. Popularity (favorite 3,
# watch 1): a 6, c 6, b 2, d 1, e 1; a is newer than c, d newer than e.
POPULAR = ["a", "c", "b", "d", "e"]
RELATED = {
    # u1 and u2 touched a: c 1+3+1, b 1, d 1; b and d tie, b is more popular.
    "a": ["c", "b", "d", "e"],
    # u1 and u3 touched b: a 3, c 1+1, e 1 (u3's favorite, draft, is not
    # published), then d tops it up.
    "b": ["a", "c", "e", "d"],
    # u1, u2 and u3 touched c: a 3+3, b 1+1, d 1, e 1.
    "c": ["a", "b", "d", "e"],
    # u2 touched d: c 3+1, a 3.
    "d": ["c", "a", "b", "e"],
    # u3 touched e: b 1, c 1, and c is the more popular; then a and d.
    "e": ["c", "b", "a", "d"],
}


def published(slug: str, days_ago: int = 0, **fields) -> Video:
    return Video.objects.create(
        title=slug.title(),
        slug=slug,
        file=f"videos/video-{slug:a>64}.mp4",
        is_published=True,
        published_at=timezone.now() - datetime.timedelta(days=days_ago),
        **fields,
    )


def item(slug: str) -> dict:
    return {
        "slug": slug,
        "title": slug.title(),
        "url": f"/videos/{slug}/",
        "thumbnail": None,
        "duration": None,
    }


def slugs(payload: list[dict]) -> list[str]:
    return [entry["slug"] for entry in payload]


def stored() -> dict:
    """Every stored list as slugs, keyed by video slug (None: popular)."""
    return {
        (row.video.slug if row.video else None): slugs(row.payload)
        for row in RecommendationList.objects.select_related("video")
    }


@pytest.fixture
def dataset():
    videos = {slug: published(slug, days) for days, slug in enumerate("abcde", 1)}
    videos["draft"] = Video.objects.create(title="Draft", slug="draft")
    users = {
        name: get_user_model().objects.create_user(name) for name in ("u1", "u2", "u3")
    }
    favorites = [("u1", "a"), ("u2", "a"), ("u2", "c"), ("u3", "draft")]
    watches = [("u1", "b"), ("u1", "c"), ("u2", "c"), ("u2", "d")]
    watches += [("u3", "b"), ("u3", "c"), ("u3", "e")]
    for name, slug in favorites:
        Favorite.objects.create(user=users[name], video=videos[slug])
    for name, slug in watches:
        WatchHistory.objects.create(user=users[name], video=videos[slug])
    return videos


@pytest.fixture
def refreshed(dataset):
    ranking.refresh()
    # A known time, so that the ETag and computed_at are exact.
    RecommendationList.objects.update(computed_at=COMPUTED_AT)
    return dataset


# Ranking


def test_it_ranks_related_videos_by_shared_viewers_then_popularity(dataset):
    refreshed = ranking.refresh()

    assert refreshed == ranking.Refreshed(videos=5, popular=1)
    assert stored() == {None: POPULAR, **RELATED}


def test_it_ranks_by_popularity_then_newest_without_any_signal():
    for days, slug in enumerate(["new", "mid", "old"]):
        published(slug, days)

    ranking.refresh()

    assert stored() == {
        None: ["new", "mid", "old"],
        "new": ["mid", "old"],
        "mid": ["new", "old"],
        "old": ["new", "mid"],
    }


def test_a_list_holds_ten_videos_at_most_without_itself_or_duplicates():
    for days in range(12):
        published(f"v{days:02}", days)
    newest = [f"v{days:02}" for days in range(12)]

    ranking.refresh()

    lists = stored()
    assert lists[None] == newest[:10]
    assert lists["v00"] == newest[1:11]
    assert lists["v05"] == newest[:5] + newest[6:11]


def test_a_withdrawn_video_leaves_every_list_at_the_next_refresh(dataset):
    ranking.refresh()
    dataset["c"].unpublish()
    dataset["c"].save()

    ranking.refresh()

    lists = stored()
    assert "c" not in lists
    assert lists[None] == ["a", "b", "d", "e"]
    assert lists["a"] == ["b", "d", "e"]


def test_someone_who_watched_and_favorited_a_video_weighs_four(dataset):
    videos = {video.slug: video for video in Video.objects.published()}

    touches = ranking.touches_by_user(videos)

    assert sorted(touches.values(), key=sorted) == [
        Counter({"a": 3, "b": 1, "c": 1}),
        Counter({"a": 3, "c": 4, "d": 1}),
        Counter({"b": 1, "c": 1, "e": 1}),
    ]


def test_a_related_list_skips_the_video_itself_and_repeats_nothing():
    popular = ["x", "y", "z", "w"]
    rank = {slug: position for position, slug in enumerate(popular)}

    related = ranking.related_order(
        "y", Counter({"y": 9, "w": 2, "unpublished": 5}), popular, rank, length=3
    )

    assert related == ["w", "x", "z"]


def test_an_entry_carries_the_thumbnail_url_and_duration_in_seconds():
    video = published("clip", duration=datetime.timedelta(seconds=6, microseconds=5))
    video.thumbnail = f"thumbnails/{video.pk}.jpg"
    video.save()

    assert ranking.payload_item(video) == {
        "slug": "clip",
        "title": "Clip",
        "url": "/videos/clip/",
        "thumbnail": f"/media/thumbnails/{video.pk}.jpg",
        "duration": 6.000005,
    }


def test_there_is_only_one_popular_list():
    RecommendationList.objects.create(video=None, computed_at=COMPUTED_AT)

    with pytest.raises(IntegrityError):
        RecommendationList.objects.create(video=None, computed_at=COMPUTED_AT)


# The command


@pytest.mark.parametrize(
    ("count", "output"),
    [
        (0, "Recommendations refreshed: 0 videos, 1 popular list.\n"),
        (1, "Recommendations refreshed: 1 video, 1 popular list.\n"),
        (2, "Recommendations refreshed: 2 videos, 1 popular list.\n"),
    ],
)
def test_the_command_says_what_it_refreshed(count, output):
    for days in range(count):
        published(f"v{days}", days)
    out = io.StringIO()

    call_command("refreshrecommendations", stdout=out)

    assert out.getvalue() == output


def test_the_command_gives_the_same_lists_when_run_again(dataset):
    call_command("refreshrecommendations", stdout=io.StringIO())
    first = {row.video_id: row.payload for row in RecommendationList.objects.all()}
    out = io.StringIO()

    call_command("refreshrecommendations", stdout=out)

    again = {row.video_id: row.payload for row in RecommendationList.objects.all()}
    assert out.getvalue() == "Recommendations refreshed: 5 videos, 1 popular list.\n"
    assert again == first
    assert RecommendationList.objects.count() == 6


# The API


@pytest.mark.parametrize(
    ("query", "video", "expected"),
    [("", None, POPULAR), ("?video=a", "a", RELATED["a"])],
)
def test_every_visitor_gets_the_same_public_answer(
    refreshed, visitor, query, video, expected
):
    response = visitor.get(URL + query)

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == RECOMMENDATIONS.cache_control
    assert response["ETag"] == ETAG
    assert response["Content-Type"] == "application/json"
    assert "Set-Cookie" not in response.headers
    # django-cors-headers answers each Origin differently under /api/.
    assert response["Vary"] == "origin"
    assert response.json() == {
        "video": video,
        "computed_at": COMPUTED_AT_ISO,
        "recommendations": [item(slug) for slug in expected],
    }


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", HTTPStatus.OK),
        ("?video=a", HTTPStatus.OK),
        ("?video=late", HTTPStatus.OK),
        ("?video=nope", HTTPStatus.NOT_FOUND),
    ],
)
def test_a_request_costs_one_query(
    refreshed, visitor, django_assert_num_queries, query, status
):
    published("late")

    with django_assert_num_queries(1):
        response = visitor.get(URL + query)

    assert response.status_code == status


@pytest.mark.parametrize("if_none_match", [ETAG, f"W/{ETAG}", f'"1", {ETAG}', "*"])
@pytest.mark.parametrize("query", ["", "?video=a"])
def test_a_matching_if_none_match_is_a_304_for_one_query(
    refreshed, django_assert_num_queries, client, query, if_none_match
):
    with django_assert_num_queries(1):
        response = client.get(URL + query, headers={"If-None-Match": if_none_match})

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response.content == b""
    assert response["ETag"] == ETAG
    assert response["Cache-Control"] == RECOMMENDATIONS.cache_control


def test_a_refresh_changes_the_etag_and_ends_the_304s(refreshed, client):
    ranking.refresh()

    response = client.get(URL, headers={"If-None-Match": ETAG})

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] != ETAG
    assert slugs(response.json()["recommendations"]) == POPULAR


def test_a_stale_if_none_match_gets_the_list(refreshed, client):
    response = client.get(URL, headers={"If-None-Match": '"1748854800123455"'})

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] == ETAG


def test_a_video_published_since_the_refresh_gets_the_popular_list(refreshed, client):
    published("late")

    response = client.get(URL + "?video=late")

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] == ETAG
    assert response.json() == {
        "video": "late",
        "computed_at": COMPUTED_AT_ISO,
        "recommendations": [item(slug) for slug in POPULAR],
    }


@pytest.mark.parametrize(("query", "video"), [("", None), ("?video=a", "a")])
def test_before_any_refresh_the_list_is_empty(dataset, client, query, video):
    response = client.get(URL + query, headers={"If-None-Match": "*"})

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == RECOMMENDATIONS.cache_control
    assert "ETag" not in response.headers
    assert response.json() == {
        "video": video,
        "computed_at": None,
        "recommendations": [],
    }


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("?video=nope", HTTPStatus.NOT_FOUND, "No published video 'nope'."),
        ("?video=draft", HTTPStatus.NOT_FOUND, "No published video 'draft'."),
        ("?page=2", HTTPStatus.BAD_REQUEST, "Unknown parameter(s): page."),
        ("?video=a&x=1&b=2", HTTPStatus.BAD_REQUEST, "Unknown parameter(s): b, x."),
        ("?video=", HTTPStatus.BAD_REQUEST, "video must be one video's slug."),
        ("?video=a&video=b", HTTPStatus.BAD_REQUEST, "video must be one video's slug."),
    ],
)
def test_bad_requests_get_a_json_error(refreshed, client, query, status, error):
    response = client.get(URL + query)

    assert response.status_code == status
    assert response["Cache-Control"] == ERROR.cache_control
    assert "ETag" not in response.headers
    assert response.json() == {"error": error}


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_only_get_and_head_are_allowed(refreshed, client, method):
    response = getattr(client, method)(URL)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD"
    assert response["Cache-Control"] == ERROR.cache_control
    assert response.json() == {"error": f"{method.upper()} is not allowed here."}


def test_head_gets_the_headers_of_get(refreshed, client):
    response = client.head(URL)

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] == ETAG
    assert response["Cache-Control"] == RECOMMENDATIONS.cache_control
    assert response.content == b""


def test_a_failed_if_match_is_a_412(refreshed, client):
    response = client.get(URL, headers={"If-Match": '"1"'})

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert response["Cache-Control"] == ERROR.cache_control
    assert json.loads(response.content) == {
        "error": "If-Match does not match the current list."
    }


# The admin


def test_staff_see_the_lists_but_cannot_change_them(refreshed, staff_client):
    popular = RecommendationList.objects.get(video=None)

    listing = staff_client.get("/admin/recommendations/recommendationlist/")
    detail = staff_client.get(
        f"/admin/recommendations/recommendationlist/{popular.pk}/change/"
    )
    adding = staff_client.get("/admin/recommendations/recommendationlist/add/")

    assert listing.status_code == HTTPStatus.OK
    assert b"Everyone (popular now)" in listing.content
    assert detail.status_code == HTTPStatus.OK
    assert b"a, c, b, d, e" in detail.content
    assert b'name="_save"' not in detail.content
    assert adding.status_code == HTTPStatus.FORBIDDEN
