"""The admin's direct-upload widget in a real browser, against moto over HTTP.

The page's script sends the file's parts straight to moto's presigned URLs,
as a browser sends them to S3, so the bucket's CORS rules are exercised too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Locator, expect

from tests.s3 import VIDEO_BUCKET
from videos import buckets
from videos.models import State, Upload, Video

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("served_host", "fast_passwords"),
]

ADD_URL = "/admin/videos/video/add/"
LIST_URL = "/admin/videos/video/"
TIMEOUT_MS = 5_000
# While a route is set, Chromium hands every request body to Playwright's
# driver, about a second per 8 MiB part; processing then hashes and copies
# the whole object inside the complete call.
UPLOAD_TIMEOUT_MS = 15_000
# Retries wait this long, then twice and four times it; the page's default
# is a second.
RETRY_DELAY_MS = 20
# The field's label names the picker; the fieldset's heading lacks the colon.
VIDEO_FILE_LABEL = re.compile(r"^video file:$", re.IGNORECASE)
NOT_A_VIDEO = "The file is not an MP4 or WebM video."
S3_INTERNAL_ERROR = (
    "<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>InternalError</Code>"
    "<Message>We encountered an internal error. Please try again.</Message></Error>"
)
PART_2_FAILED = (
    "Part 2 of 2 failed after 4 tries. S3 answered 500 (InternalError): We "
    "encountered an internal error. Please try again."
)


@pytest.fixture
def bucket(s3, settings, site_url):
    """The video bucket, taking parts from the live site's real origin."""
    buckets.configure(s3.client, VIDEO_BUCKET, cors_origins=[site_url])
    # Static files stay on the file system, so the site itself serves the
    # widget's script from the set the session collected.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        },
    }
    return s3


@pytest.fixture
def clip(mp4_bytes, tmp_path) -> Path:
    """A real video padded with zeros to about 11 MB, so two parts: 8 MiB and
    the rest. The container parser skips the padding."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes + b"\0" * (11 * 1024**2))
    return path


@pytest.fixture
def page(browser, staff_client, site_url):
    """An admin page in a browser carrying the staff member's session."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    cookie = staff_client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": site_url}])
    yield context.new_page()
    context.close()


def open_add_page(page, site_url: str, *, retry_delay_ms: int | None = None):
    page.goto(site_url + ADD_URL)
    if retry_delay_ms is not None:
        page.eval_on_selector(
            ".direct-upload", f"el => el.dataset.retryDelayMs = '{retry_delay_ms}'"
        )


def choose(page, path: Path) -> None:
    # A path, not a buffer: Chromium reads the file itself, where 11 MB sent
    # through Playwright's protocol would take seconds. The browser types it
    # from its extension.
    page.get_by_label(VIDEO_FILE_LABEL).set_input_files(path)


@dataclass
class Widget:
    """What a staff member sees of the widget, and the field the form posts."""

    picker: Locator
    bar: Locator
    status: Locator
    error: Locator
    resume: Locator
    cancel: Locator
    reference: Locator
    save: Locator

    @classmethod
    def on(cls, page) -> Widget:
        root = page.locator(".direct-upload")
        return cls(
            picker=page.get_by_label(VIDEO_FILE_LABEL),
            bar=page.get_by_role("progressbar", name="Upload progress"),
            status=root.locator(".direct-upload-status"),
            error=root.locator(".errornote"),
            resume=root.get_by_role("button", name="Resume"),
            cancel=root.get_by_role("button", name="Cancel"),
            reference=root.locator("input[type=hidden][name=upload_reference]"),
            save=page.get_by_role("button", name="Save", exact=True),
        )


def part_number(url: str) -> int | None:
    numbers = parse_qs(urlsplit(url).query).get("partNumber")
    return int(numbers[0]) if numbers else None


def count_part_puts(page, endpoint: str, number: int) -> list[str]:
    """The URLs of every PUT of one part the page sends, as it sends them."""
    seen = []

    def record(request):
        if (
            request.method == "PUT"
            and request.url.startswith(endpoint)
            and part_number(request.url) == number
        ):
            seen.append(request.url)

    page.on("request", record)
    return seen


class PartTwoGate:
    """Fails every PUT of part 2 with S3's 500 until opened; counts them."""

    def __init__(self, site_url: str):
        self.site_url = site_url
        self.open = False
        self.attempts = 0

    def __call__(self, route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        self.attempts += 1
        if self.open:
            route.continue_()
            return
        route.fulfill(
            status=500,
            # The script sees a cross-origin answer only with this header.
            headers={
                "Access-Control-Allow-Origin": self.site_url,
                "Content-Type": "application/xml",
            },
            body=S3_INTERNAL_ERROR,
        )


def gate_part_two(page, site_url: str, endpoint: str) -> PartTwoGate:
    gate = PartTwoGate(site_url)
    # A pattern, not a function: Playwright's driver matches it, instead of
    # sending every request, megabytes of body included, to this process.
    page.route(re.compile(re.escape(endpoint) + r"/.*[?&]partNumber=2(&|$)"), gate)
    return gate


def stored_name(path: Path) -> str:
    return f"videos/video-{hashlib.sha256(path.read_bytes()).hexdigest()}.mp4"


def test_staff_upload_a_video_through_the_add_page(page, site_url, bucket, clip):
    widget = Widget.on(page)
    open_add_page(page, site_url)
    expect(widget.status).to_have_attribute("aria-live", "polite")
    expect(widget.bar).to_be_hidden()
    expect(widget.resume).to_be_hidden()
    expect(widget.cancel).to_be_hidden()

    choose(page, clip)

    name = stored_name(clip)
    size = clip.stat().st_size
    expect(widget.status).to_have_text(
        f"Ready: stored as {name}", timeout=UPLOAD_TIMEOUT_MS
    )
    expect(widget.bar).to_have_js_property("max", size)
    expect(widget.bar).to_have_js_property("value", size)
    expect(widget.error).to_be_hidden()
    expect(widget.cancel).to_be_hidden()
    expect(widget.reference).not_to_have_value("")
    expect(widget.save).to_be_enabled()

    page.get_by_label("Title").press_sequentially("Straight to S3")
    expect(page.get_by_label("Slug")).to_have_value("straight-to-s3")
    widget.save.click()

    page.wait_for_url(site_url + LIST_URL)
    expect(page.locator("#result_list .field-title")).to_have_text(["Straight to S3"])
    video = Video.objects.get()
    assert video.title == "Straight to S3"
    assert video.state == State.READY
    assert video.file.name == name
    assert bucket.keys(VIDEO_BUCKET) == [name]
    assert bucket.multipart_uploads(VIDEO_BUCKET) == []


def test_a_failed_part_resumes_without_sending_the_others_again(
    page, site_url, bucket, clip
):
    widget = Widget.on(page)
    part_one_puts = count_part_puts(page, bucket.endpoint, 1)
    gate = gate_part_two(page, site_url, bucket.endpoint)
    open_add_page(page, site_url, retry_delay_ms=RETRY_DELAY_MS)

    choose(page, clip)

    expect(widget.resume).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(widget.cancel).to_be_visible()
    expect(widget.error).to_have_text(PART_2_FAILED)
    expect(widget.status).to_have_text("Paused.")
    expect(widget.save).to_be_disabled()
    assert gate.attempts == 4

    gate.open = True
    widget.resume.click()

    expect(widget.status).to_have_text(
        f"Ready: stored as {stored_name(clip)}", timeout=UPLOAD_TIMEOUT_MS
    )
    expect(widget.bar).to_have_js_property("value", clip.stat().st_size)
    expect(widget.error).to_be_hidden()
    expect(widget.resume).to_be_hidden()
    expect(widget.save).to_be_enabled()
    assert len(part_one_puts) == 1
    assert gate.attempts == 5
    assert bucket.keys(VIDEO_BUCKET) == [stored_name(clip)]
    assert bucket.multipart_uploads(VIDEO_BUCKET) == []


def test_cancel_leaves_nothing_and_offers_the_picker_again(
    page, site_url, bucket, clip
):
    widget = Widget.on(page)
    gate_part_two(page, site_url, bucket.endpoint)
    open_add_page(page, site_url, retry_delay_ms=RETRY_DELAY_MS)
    choose(page, clip)
    expect(widget.resume).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    assert len(bucket.multipart_uploads(VIDEO_BUCKET)) == 1
    assert Upload.objects.count() == 1

    with page.expect_response(lambda r: r.url.endswith("/abort/")) as aborted:
        widget.cancel.click()

    assert aborted.value.status == HTTPStatus.OK
    expect(widget.status).to_have_text("Upload cancelled.")
    expect(widget.picker).to_be_enabled()
    expect(widget.picker).to_have_js_property("value", "")
    expect(widget.bar).to_be_hidden()
    expect(widget.error).to_be_hidden()
    expect(widget.resume).to_be_hidden()
    expect(widget.cancel).to_be_hidden()
    expect(widget.reference).to_have_value("")
    expect(widget.save).to_be_enabled()
    assert bucket.multipart_uploads(VIDEO_BUCKET) == []
    assert bucket.keys(VIDEO_BUCKET) == []
    assert not Upload.objects.exists()


def test_a_file_that_is_not_a_video_is_refused(page, site_url, bucket, tmp_path):
    widget = Widget.on(page)
    open_add_page(page, site_url)
    text = tmp_path / "clip.mp4"
    text.write_bytes(b"Just some words, not a video at all.\n" * 100_000)  # 3.7 MB

    with page.expect_response(lambda r: r.url.endswith("/complete/")) as completed:
        choose(page, text)

    assert completed.value.status == HTTPStatus.BAD_REQUEST
    expect(widget.error).to_have_text(NOT_A_VIDEO)
    expect(widget.status).to_have_text("")
    expect(widget.picker).to_be_enabled()
    expect(widget.bar).to_be_hidden()
    expect(widget.cancel).to_be_hidden()
    expect(widget.reference).to_have_value("")
    expect(widget.save).to_be_enabled()
    assert bucket.keys(VIDEO_BUCKET) == []
    assert bucket.multipart_uploads(VIDEO_BUCKET) == []
    assert not Upload.objects.exists()
    assert not Video.objects.exists()
