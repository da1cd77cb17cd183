"""The public pages: the same for everyone, so the edge may share them."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.utils import timezone

from caching.policies import ERROR, PAGE
from videos.models import Video

pytestmark = pytest.mark.django_db


def published(slug: str, days_ago: int = 0) -> Video:
    return Video.objects.create(
        title=slug.title(),
        slug=slug,
        file=f"videos/video-{slug:a>64}.mp4",
        is_published=True,
        published_at=timezone.now() - timezone.timedelta(days=days_ago),
    )


@pytest.mark.parametrize("url", ["/", "/videos/first/"])
def test_a_public_page_is_the_same_for_every_visitor(visitor, url):
    published("first")

    response = visitor.get(url)

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PAGE.cache_control
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers
    assert b"someone" not in response.content
    assert b"csrfmiddlewaretoken" not in response.content


def test_the_home_page_lists_published_videos_newest_first(client):
    published("older", days_ago=2)
    published("newer", days_ago=1)
    Video.objects.create(title="Draft", slug="draft")

    response = client.get("/")

    assert [video.slug for video in response.context["page"]] == ["newer", "older"]
    assert b"Draft" not in response.content


def test_a_video_page_plays_the_content_hashed_file(client):
    published("first")

    response = client.get("/videos/first/")

    name = "a" * 59 + "first"
    assert f'src="/media/videos/video-{name}.mp4"'.encode() in response.content


def test_an_unpublished_video_page_is_not_found(client):
    Video.objects.create(title="Draft", slug="draft")

    response = client.get("/videos/draft/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Cache-Control"] == ERROR.cache_control


def test_a_video_published_for_later_is_not_listed_yet(client):
    published("soon", days_ago=-1)

    response = client.get("/")

    assert list(response.context["page"]) == []
    assert b"No videos are published yet." in response.content


def test_pages_are_read_only(client):
    response = client.post("/")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD"
    assert response["Cache-Control"] == ERROR.cache_control
