"""The site in a real browser: Playwright driving Debian's Chromium.

The pages are the same for everyone, so what a viewer sees of their own
(name, favorite, comments they may edit) is filled in by the page's
JavaScript from the APIs. These tests check that it works end to end, against
a live server with a real video.
"""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from comments.models import Comment
from recommendations import ranking
from recommendations.models import Favorite, WatchHistory
from videos.models import Video

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("served_host", "fast_passwords"),
]

TIMEOUT_MS = 5_000
PASSWORD = "a-long-enough-password"
# A body that would run if it were ever inserted as HTML.
HOSTILE_BODY = '<script>alert("gotcha")</script> & <b>not bold</b>'


@pytest.fixture
def video(media_root, mp4_bytes) -> Video:
    return Video.objects.create(
        title="Byte ranges",
        slug="byte-ranges",
        description="How a player asks for part of a file.",
        file=ContentFile(mp4_bytes, name="clip.mp4"),
        is_published=True,
    )


@pytest.fixture
def viewer():
    return get_user_model().objects.create_user("dana", password=PASSWORD)


@pytest.fixture
def context(browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def signed_in_page(context, client, viewer, site_url):
    """A page whose browser carries the viewer's session cookie."""
    client.force_login(viewer)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": site_url}])
    return context.new_page()


def is_comments_list(response) -> bool:
    return response.url.split("?")[0].endswith("/api/comments/")


def test_it_plays_and_seeks_with_range_requests(page, site_url, video):
    media = []
    page.on("response", lambda r: media.append(r) if "/media/" in r.url else None)
    page.goto(site_url + video.get_absolute_url())

    # Muted, so that Chromium's autoplay policy lets a script start it.
    page.eval_on_selector("#player", "v => { v.muted = true; return v.play(); }")
    page.wait_for_function("document.getElementById('player').currentTime > 0")
    position = page.eval_on_selector(
        "#player",
        """v => new Promise(resolve => {
            v.addEventListener("seeked", () => resolve(v.currentTime), {once: true});
            v.currentTime = 1.5;
        })""",
    )

    assert position == pytest.approx(1.5, abs=0.1)
    ranges = [
        (r.request.all_headers().get("range"), r.status)
        for r in media
        if r.url.endswith(video.file.url)
    ]
    assert ranges, "the player never asked for the video file"
    assert all(status == HTTPStatus.PARTIAL_CONTENT for _, status in ranges)
    assert all(header and header.startswith("bytes=") for header, _ in ranges)


def test_a_signed_in_viewer_posts_a_comment_shown_as_text(
    page, site_url, video, viewer
):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # Through the real sign-in page, which sends the viewer back to the video.
    page.goto(f"{site_url}/accounts/signin/?next={video.get_absolute_url()}")
    page.fill("input[name=username]", viewer.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.account button[type=submit]")
    page.wait_for_url(site_url + video.get_absolute_url())
    expect(page.locator(".account-name")).to_have_text(viewer.username)

    page.fill("#comment-body", HOSTILE_BODY)
    with page.expect_response(
        lambda r: is_comments_list(r) and r.request.method == "POST"
    ) as posted:
        page.click(".comment-form button[type=submit]")

    assert posted.value.status == HTTPStatus.CREATED
    body = page.locator(".comment-list .comment-body")
    expect(body).to_have_count(1)
    assert body.text_content() == HOSTILE_BODY
    assert page.locator(".comment-list script, .comment-list b").count() == 0
    assert dialogs == []
    expect(page.locator(".comment-list .comment-author")).to_have_text(viewer.username)
    expect(page.locator(".comment-list .comment-edit")).to_be_visible()
    expect(page.locator("#comment-body")).to_have_value("")
    assert Comment.objects.get().body == HOSTILE_BODY


def test_the_favorite_toggle_survives_a_reload(signed_in_page, site_url, video):
    page = signed_in_page
    page.goto(site_url + video.get_absolute_url())
    toggle = page.locator(".favorite-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")

    for wanted in ("true", "false"):
        with page.expect_response(lambda r: "/api/me/favorites/" in r.url) as saved:
            toggle.click()
        assert saved.value.ok
        expect(toggle).to_have_attribute("aria-pressed", wanted)

        page.reload()
        expect(toggle).to_have_attribute("aria-pressed", wanted)
        assert Favorite.objects.filter(video=video).exists() == (wanted == "true")


def test_it_resumes_and_records_where_the_viewer_stopped(
    signed_in_page, site_url, video, viewer
):
    WatchHistory.objects.create(
        user=viewer, video=video, position=datetime.timedelta(seconds=1)
    )
    page = signed_in_page
    page.goto(site_url + video.get_absolute_url())
    expect(page.locator("#resume-note")).to_have_text("Resumed at 0:01")
    assert page.eval_on_selector("#player", "v => v.currentTime") == 1

    page.eval_on_selector("#player", "v => { v.muted = true; return v.play(); }")
    page.wait_for_function("document.getElementById('player').currentTime > 1.2")
    with page.expect_response(lambda r: "/api/me/history/" in r.url) as saved:
        page.eval_on_selector("#player", "v => v.pause()")

    assert saved.value.status == HTTPStatus.OK
    stopped = page.eval_on_selector("#player", "v => v.currentTime")
    position = WatchHistory.objects.get(user=viewer, video=video).position
    assert 1.2 <= position.total_seconds() <= stopped


def test_watch_next_lists_the_recommended_videos(page, site_url, video):
    other = Video.objects.create(
        title="Conditional requests",
        slug="conditional-requests",
        file=f"videos/video-{'b' * 64}.mp4",
        duration=datetime.timedelta(seconds=65),
        is_published=True,
    )
    ranking.refresh()

    page.goto(site_url + video.get_absolute_url())

    card = page.locator(".watch-next-list .next-card")
    expect(card.locator(".next-title")).to_have_text([other.title])
    expect(card.locator(".next-duration")).to_have_text(["1:05"])
    expect(card.locator("a")).to_have_attribute("href", other.get_absolute_url())


def test_an_anonymous_visitor_is_offered_to_sign_in(page, site_url, video):
    page.goto(site_url + video.get_absolute_url())

    expect(page.locator(".favorite-signin")).to_be_visible()
    expect(page.locator(".comment-signin")).to_be_visible()
    expect(page.locator(".account-anonymous")).to_be_visible()
    expect(page.locator(".favorite-toggle")).to_be_hidden()
    expect(page.locator(".comment-form")).to_be_hidden()


def test_a_refresh_gets_a_304_when_nothing_changed(
    signed_in_page, site_url, video, viewer
):
    page = signed_in_page
    Comment.post(video.pk, viewer, "First!")
    with page.expect_response(is_comments_list) as first:
        page.goto(site_url + video.get_absolute_url())
    assert first.value.status == HTTPStatus.OK
    expect(page.locator(".comment-body")).to_have_text(["First!"])

    with page.expect_response(is_comments_list) as again:
        page.click(".comments-refresh")

    assert again.value.status == HTTPStatus.NOT_MODIFIED
    request_headers = again.value.request.all_headers()
    assert request_headers["if-none-match"] == first.value.headers["etag"]
    # The CDN route forwards no cookies, so the script sends none, even
    # from a signed-in browser.
    assert "cookie" not in request_headers
    expect(page.locator(".comments-status")).to_contain_text("Up to date (304)")
    expect(page.locator(".comment-body")).to_have_text(["First!"])


def test_the_poll_picks_up_a_new_comment(page, site_url, video, viewer):
    # A fake clock, so the 15-second poll runs without waiting for it.
    page.clock.install()
    with page.expect_response(is_comments_list):
        page.goto(site_url + video.get_absolute_url())
    expect(page.locator(".comments-empty")).to_be_visible()

    with page.expect_response(is_comments_list) as unchanged:
        page.clock.run_for("00:16")
    assert unchanged.value.status == HTTPStatus.NOT_MODIFIED

    Comment.post(video.pk, viewer, "Anyone there?")
    with page.expect_response(is_comments_list) as changed:
        page.clock.run_for("00:16")
    assert changed.value.status == HTTPStatus.OK
    expect(page.locator(".comment-body")).to_have_text(["Anyone there?"])
    expect(page.locator(".comments-count")).to_have_text("(1)")


def is_comment(response) -> bool:
    return "/api/comments/" in response.url and not is_comments_list(response)


def test_an_edit_that_lost_a_race_overwrites_nothing(
    signed_in_page, site_url, video, viewer
):
    comment = Comment.post(video.pk, viewer, "Original")
    page = signed_in_page
    page.goto(site_url + video.get_absolute_url())
    page.click(".comment-edit")
    editor = page.locator(".comment-editor textarea")
    expect(editor).to_have_value("Original")

    # Someone else (another tab, a moderator) saves first.
    Comment.objects.get(pk=comment.pk).revise("Changed elsewhere")
    editor.fill("Mine")
    with page.expect_response(
        lambda r: is_comment(r) and r.request.method == "PUT"
    ) as saved:
        page.click(".comment-editor button[type=submit]")

    assert saved.value.status == HTTPStatus.PRECONDITION_FAILED
    expect(page.locator(".comment-body")).to_have_text(["Changed elsewhere"])
    expect(page.locator(".comments-status")).to_contain_text("Someone changed")
    assert Comment.objects.get(pk=comment.pk).body == "Changed elsewhere"


def test_the_author_edits_and_deletes_a_comment(
    signed_in_page, site_url, video, viewer
):
    comment = Comment.post(video.pk, viewer, "Frist")
    page = signed_in_page
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(site_url + video.get_absolute_url())

    page.click(".comment-edit")
    page.fill(".comment-editor textarea", "First")
    with page.expect_response(lambda r: is_comment(r) and r.request.method == "PUT"):
        page.click(".comment-editor button[type=submit]")
    expect(page.locator(".comment-body")).to_have_text(["First"])
    expect(page.locator(".comment-edited")).to_be_visible()

    with page.expect_response(
        lambda r: is_comment(r) and r.request.method == "DELETE"
    ) as deleted:
        page.click(".comment-delete")

    assert deleted.value.status == HTTPStatus.NO_CONTENT
    expect(page.locator(".comments-empty")).to_be_visible()
    assert not Comment.objects.filter(pk=comment.pk).exists()
