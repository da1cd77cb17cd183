"""The cache lab's scenarios, each against a real nginx and a real origin.

Every scenario must show what the edge really answered, in order, and put
the data back as it found it.
"""

from __future__ import annotations

import hashlib
import re
from http import HTTPStatus
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile

from caching.policies import (
    ANNOUNCEMENT,
    COMMENTS,
    ERROR,
    PAGE,
    PERSONAL,
    RECOMMENDATIONS,
    THUMBNAIL,
    VIDEO,
)
from comments.models import Comment
from edge import config, runner
from lab import scenarios
from recommendations import ranking
from tests.conftest import image_bytes, stored_files
from tests.servers import missing
from videos.models import Video

pytestmark = pytest.mark.django_db(transaction=True)

HIT = config.X_CACHE["HIT"]
REFRESH_HIT = config.X_CACHE["STALE"]
MISS = config.X_CACHE_MISS
ERROR_FROM_EDGE = config.X_CACHE_ERROR
NONE = scenarios.ABSENT
OK = HTTPStatus.OK
ANSWER = re.compile(
    r"^    (?P<status>\d{3}) .*? \| X-Cache: (?P<x_cache>.*?) \| Age: .*? "
    r"\| ETag: .*? \| Cache-Control: (?P<cache_control>.*)$",
    re.M,
)


@pytest.fixture
def nginx():
    if runner.nginx_binary() is None:
        missing(runner.MISSING)


@pytest.fixture(autouse=True)
def served_host(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]


@pytest.fixture
def video(media_root, mp4_bytes) -> Video:
    video = Video.objects.create(
        title="Byte ranges",
        slug="byte-ranges",
        description="How a player asks for part of a file.",
        file=ContentFile(mp4_bytes, name="clip.mp4"),
        thumbnail=ContentFile(image_bytes(colour="orange"), name="first.png"),
        is_published=True,
    )
    ranking.refresh()
    return video


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice")


def narrate(name: str) -> str:
    out = StringIO()
    scenarios.run(name, out)
    return out.getvalue()


def answers(text: str) -> list[tuple[int, str]]:
    """(status, X-Cache) of every answer the narrative shows, in order."""
    return [(int(m["status"]), m["x_cache"]) for m in ANSWER.finditer(text)]


def cache_controls(text: str) -> list[str]:
    return [m["cache_control"] for m in ANSWER.finditer(text)]


def state(video: Video, media_root) -> dict:
    """What a scenario may change and must put back."""
    video = Video.objects.get(pk=video.pk)
    stored = {
        name: hashlib.sha256((media_root / name).read_bytes()).hexdigest()
        for name in stored_files(media_root)
    }
    return {
        "video": (
            video.file.name,
            video.sha256,
            video.size,
            video.duration,
            video.thumbnail.name,
            video.updated_at,
            video.comments_count,
        ),
        "files": stored,
        "comments": Comment.objects.count(),
        "sessions": Session.objects.count(),
        "last_logins": list(
            get_user_model().objects.values_list("username", "last_login")
        ),
    }


def test_an_unknown_scenario_is_a_key_error():
    with pytest.raises(KeyError):
        scenarios.run("purge-everything", StringIO())


def test_without_a_published_video_the_scenarios_say_what_to_do(media_root):
    with pytest.raises(scenarios.ScenarioError) as raised:
        scenarios.run("immutable", StringIO())

    assert str(raised.value) == scenarios.NO_VIDEO


def test_immutable_shows_a_new_url_and_the_old_one_still_cached(
    nginx, video, media_root
):
    before = state(video, media_root)
    old_url = video.file.url

    text = narrate("immutable")

    (new_url,) = re.findall(r"^  new URL: (\S+)$", text, re.M)
    assert re.findall(r"^  old URL: (\S+)$", text, re.M) == [old_url]
    assert re.fullmatch(r"/media/videos/video-[0-9a-f]{64}\.mp4", new_url)
    assert new_url != old_url
    assert answers(text) == [
        (HTTPStatus.PARTIAL_CONTENT, MISS),
        (HTTPStatus.PARTIAL_CONTENT, HIT),
        (HTTPStatus.PARTIAL_CONTENT, MISS),
        (HTTPStatus.PARTIAL_CONTENT, HIT),
        # The origin deleted the old file; the edge still has it.
        (HTTPStatus.NOT_FOUND, NONE),
        (HTTPStatus.PARTIAL_CONTENT, HIT),
    ]
    assert cache_controls(text)[-1] == VIDEO.cache_control
    assert "The edge's answer is the same bytes as the first answer." in text
    assert VIDEO.why in text
    assert state(video, media_root) == before


def test_swr_serves_the_old_thumbnail_at_once_then_the_new_one(
    nginx, video, media_root
):
    before = state(video, media_root)

    text = narrate("swr")

    assert answers(text) == [(OK, MISS), (OK, HIT), (OK, REFRESH_HIT), (OK, HIT)]
    assert set(cache_controls(text)) == {THUMBNAIL.cache_control}
    assert "  Body: the OLD image" in text
    assert "  Body: the NEW image" in text
    assert THUMBNAIL.why in text
    assert state(video, media_root) == before


def test_etag_polls_get_304s_until_a_comment_is_posted(nginx, video, alice, media_root):
    before = state(video, media_root)
    not_modified = HTTPStatus.NOT_MODIFIED

    text = narrate("etag")

    assert answers(text) == [
        (OK, MISS),
        (not_modified, MISS),
        (not_modified, MISS),
        (OK, MISS),
        (not_modified, MISS),
    ]
    assert set(cache_controls(text)) == {COMMENTS.cache_control}
    tags = re.findall(r"\| ETag: (\S+) \|", text)
    assert tags[0] == tags[1] == tags[2] != tags[3] == tags[4]
    assert "alice posts a comment" in text
    assert state(video, media_root) == before


def test_private_answers_are_never_hits(nginx, video, alice, media_root):
    before = state(video, media_root)

    text = narrate("private")

    assert answers(text) == [(OK, MISS)] * 4
    assert (
        cache_controls(text)
        == [PERSONAL.cache_control] * 2 + [ANNOUNCEMENT.cache_control] * 2
    )
    assert '  Body: user {"username": "alice", "is_staff": false}' in text
    assert "4 requests, all passed to the origin; 0 looked up in its cache." in text
    assert state(video, media_root) == before


def test_origin_down_serves_stored_copies_and_fails_personal_data(
    nginx, video, alice, media_root
):
    before = state(video, media_root)

    text = narrate("origin-down")

    assert answers(text) == [
        *[(OK, MISS)] * 4,
        *[(OK, REFRESH_HIT)] * 3,
        (HTTPStatus.BAD_GATEWAY, ERROR_FROM_EDGE),
        (OK, MISS),
    ]
    assert cache_controls(text)[4:8] == [
        THUMBNAIL.cache_control,
        RECOMMENDATIONS.cache_control,
        PAGE.cache_control,
        ERROR.cache_control,
    ]
    assert state(video, media_root) == before


def test_cookie_leak_shows_one_shared_answer_and_the_refusals(
    nginx, video, alice, media_root
):
    before = state(video, media_root)

    text = narrate("cookie-leak")

    assert answers(text) == [
        (OK, MISS),
        (OK, HIT),
        (OK, NONE),
        (OK, MISS),
        (OK, MISS),
    ]
    assert (
        cache_controls(text) == [PAGE.cache_control] * 2 + [PERSONAL.cache_control] * 3
    )
    assert "The two bodies are byte-identical" in text
    assert "the page does not name alice." in text
    assert '  Body: user {"username": "alice", "is_staff": false}' in text
    assert "  Body: user null" in text
    assert (
        "  _varies_on_cookie: The response of lab.scenarios._varies_on_cookie "
        "varies on Cookie under the public policy 'page'." in text
    )
    assert (
        "  _sets_a_cookie: The response of lab.scenarios._sets_a_cookie "
        "sets a cookie under the public policy 'page'." in text
    )
    assert state(video, media_root) == before
