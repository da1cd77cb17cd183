"""Announcement pages: only live ones, and never stored anywhere."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.utils import timezone

from announcements.models import Announcement
from caching.policies import ANNOUNCEMENT, ERROR

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def announcement(slug: str, starts_in_days: float, ends_in_days=None, **fields):
    now = timezone.now()
    return Announcement.objects.create(
        title=slug.title(),
        slug=slug,
        body=fields.pop("body", "Something happened."),
        starts_at=now + starts_in_days * DAY,
        ends_at=None if ends_in_days is None else now + ends_in_days * DAY,
        **fields,
    )


@pytest.fixture
def announcements(db):
    announcement("older", -3)
    announcement("newer", -1, ends_in_days=1)
    announcement("expired", -3, ends_in_days=-1)
    announcement("future", 1)


def test_the_list_shows_live_announcements_newest_first(visitor, announcements):
    response = visitor.get("/announcements/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == ANNOUNCEMENT.cache_control
    assert [a.slug for a in response.context["announcements"]] == ["newer", "older"]
    html = response.content.decode()
    assert '<a href="/announcements/newer/">Newer</a>' in html
    assert "Expired" not in html
    assert "Future" not in html


def test_the_list_says_when_there_is_nothing_to_announce(client):
    announcement("expired", -3, ends_in_days=-1)

    response = client.get("/announcements/")

    assert response["Cache-Control"] == ANNOUNCEMENT.cache_control
    assert b"No announcements right now." in response.content


@pytest.mark.parametrize("slug", ["older", "newer"])
def test_a_live_announcement_has_its_page(visitor, announcements, slug):
    response = visitor.get(f"/announcements/{slug}/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == ANNOUNCEMENT.cache_control
    assert response.context["announcement"].slug == slug


@pytest.mark.parametrize("slug", ["expired", "future", "unknown"])
def test_an_announcement_outside_its_window_is_not_found(visitor, announcements, slug):
    response = visitor.get(f"/announcements/{slug}/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Cache-Control"] == ERROR.cache_control


def test_the_body_is_text_with_its_line_breaks(client):
    announcement(
        "markup", -1, body="<script>alert(1)</script> first line\nsecond\n\nnext"
    )

    response = client.get("/announcements/markup/")

    html = response.content.decode()
    assert (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; first line<br>second</p>\n\n"
        "<p>next</p>"
    ) in html
    assert "<script>alert" not in html


@pytest.mark.parametrize("url", ["/announcements/", "/announcements/older/"])
def test_announcement_pages_are_read_only(client, announcements, url):
    response = client.post(url)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD"
    assert response["Cache-Control"] == ERROR.cache_control
