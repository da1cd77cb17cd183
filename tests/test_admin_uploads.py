"""Staff upload, publish and moderate in the admin; bad uploads leave nothing."""

from __future__ import annotations

import hashlib
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from announcements.models import Announcement
from caching.policies import ADMIN
from comments.models import Comment
from tests.conftest import image_bytes, stored_files
from videos.models import Video

ADD_URL = "/admin/videos/video/add/"
LIST_URL = "/admin/videos/video/"


def upload(name: str, content: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def video_form(mp4: bytes, **overrides) -> dict:
    form = {
        "title": "Cache keys",
        "slug": "cache-keys",
        "description": "What makes two requests the same.",
        "file": upload("clip.mp4", mp4, "video/mp4"),
        "thumbnail": upload("poster.png", image_bytes(), "image/png"),
        "is_published": "on",
    }
    form.update(overrides)
    return form


def test_staff_upload_a_video_with_its_thumbnail(staff_client, media_root, mp4_bytes):
    response = staff_client.post(ADD_URL, video_form(mp4_bytes))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == LIST_URL
    assert response["Cache-Control"] == ADMIN.cache_control
    video = Video.objects.get()
    digest = hashlib.sha256(mp4_bytes).hexdigest()
    assert video.file.name == f"videos/video-{digest}.mp4"
    assert video.thumbnail.name == f"thumbnails/{video.pk}.jpg"
    assert video.is_published is True
    assert video.published_at is not None
    assert stored_files(media_root) == sorted([video.file.name, video.thumbnail.name])


def test_an_upload_is_hashed_while_it_streams_in(
    staff_client, media_root, mp4_bytes, monkeypatch
):
    def no_second_pass(self, chunk_size=None):
        raise AssertionError("the uploaded file was read again")

    monkeypatch.setattr(File, "chunks", no_second_pass)

    response = staff_client.post(ADD_URL, video_form(mp4_bytes, thumbnail=""))

    assert response.status_code == HTTPStatus.FOUND
    assert Video.objects.get().sha256 == hashlib.sha256(mp4_bytes).hexdigest()


@pytest.mark.parametrize(
    ("field", "bad_file", "message"),
    [
        (
            "file",
            upload("clip.mp4", b"this is plain text, not a video", "video/mp4"),
            "The file is not an MP4 or WebM video.",
        ),
        ("file", upload("clip.mp4", b"", "video/mp4"), "The submitted file is empty."),
        (
            "thumbnail",
            upload("poster.jpg", b"\xff\xd8\xff not really a jpeg", "image/jpeg"),
            "The thumbnail is not an image this site can read.",
        ),
    ],
)
def test_a_bad_upload_gets_a_form_error_and_leaves_nothing(
    staff_client, media_root, mp4_bytes, field, bad_file, message
):
    response = staff_client.post(ADD_URL, video_form(mp4_bytes, **{field: bad_file}))

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors[field] == [message]
    assert Video.objects.count() == 0
    assert stored_files(media_root) == []


def test_an_oversized_video_is_refused_with_the_limit(
    staff_client, media_root, mp4_bytes, settings
):
    settings.HITRATE_VIDEO_MAX_BYTES = 1000

    response = staff_client.post(ADD_URL, video_form(mp4_bytes))

    size = len(mp4_bytes) / 1024
    assert response.context["adminform"].form.errors["file"] == [
        f"A video may be at most 1000\xa0bytes; this one is {size:.1f}\xa0KB."
    ]
    assert Video.objects.count() == 0
    assert stored_files(media_root) == []


def test_an_oversized_thumbnail_is_refused(
    staff_client, media_root, mp4_bytes, settings
):
    settings.HITRATE_THUMBNAIL_MAX_BYTES = 10

    response = staff_client.post(ADD_URL, video_form(mp4_bytes))

    [error] = response.context["adminform"].form.errors["thumbnail"]
    assert error.startswith("A thumbnail may be at most 10\xa0bytes; this one is ")
    assert Video.objects.count() == 0
    assert stored_files(media_root) == []


def test_a_taken_slug_is_refused_before_anything_is_stored(
    staff_client, media_root, mp4_bytes
):
    Video.objects.create(title="Taken", slug="cache-keys")

    response = staff_client.post(ADD_URL, video_form(mp4_bytes))

    assert response.context["adminform"].form.errors["slug"] == [
        "Video with this Slug already exists."
    ]
    assert stored_files(media_root) == []


def test_editing_metadata_keeps_the_stored_files(staff_client, media_root, mp4_bytes):
    staff_client.post(ADD_URL, video_form(mp4_bytes))
    video = Video.objects.get()

    response = staff_client.post(
        f"/admin/videos/video/{video.pk}/change/",
        {"title": "Renamed", "slug": "renamed", "description": "", "file": ""},
    )

    assert response.status_code == HTTPStatus.FOUND
    video.refresh_from_db()
    assert video.title == "Renamed"
    assert stored_files(media_root) == sorted([video.file.name, video.thumbnail.name])


def test_staff_publish_and_unpublish_from_the_list(staff_client, db):
    draft = Video.objects.create(title="Draft", slug="draft")
    live = Video.objects.create(title="Live", slug="live", is_published=True)

    staff_client.post(
        LIST_URL, {"action": "publish", "_selected_action": [str(draft.pk)]}
    )
    staff_client.post(
        LIST_URL, {"action": "unpublish", "_selected_action": [str(live.pk)]}
    )

    draft.refresh_from_db()
    live.refresh_from_db()
    assert (draft.is_published, live.is_published) == (True, False)
    assert draft.published_at is not None
    assert list(Video.objects.published()) == [draft]


def test_staff_hide_a_comment(staff_client, staff):
    video = Video.objects.create(title="V", slug="v")
    comment = Comment.objects.create(video=video, author=staff, body="spam")

    staff_client.post(
        "/admin/comments/comment/",
        {"action": "hide", "_selected_action": [str(comment.pk)]},
    )

    comment.refresh_from_db()
    assert comment.is_hidden is True
    assert list(Comment.objects.visible()) == []


def test_an_announcement_must_end_after_it_starts(staff_client):
    response = staff_client.post(
        "/admin/announcements/announcement/add/",
        {
            "title": "Maintenance",
            "slug": "maintenance",
            "body": "Tonight.",
            "starts_at_0": "2026-12-03",
            "starts_at_1": "10:00:00",
            "ends_at_0": "2026-12-03",
            "ends_at_1": "09:00:00",
        },
    )

    assert response.context["adminform"].form.errors["ends_at"] == [
        "The end must come after the start."
    ]
    assert Announcement.objects.count() == 0


def test_an_announcement_is_live_inside_its_window(db):
    now = timezone.now()
    current = Announcement.objects.create(
        title="Now", slug="now", body=".", starts_at=now - timezone.timedelta(hours=1)
    )
    Announcement.objects.create(
        title="Later", slug="later", body=".", starts_at=now + timezone.timedelta(1)
    )

    assert list(Announcement.objects.live()) == [current]


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_only_staff_reach_the_upload_form(client, db, who):
    if who == "viewer":
        client.force_login(get_user_model().objects.create_user("viewer"))

    response = client.get(ADD_URL)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"/admin/login/?next={ADD_URL}"
    assert response["Cache-Control"] == ADMIN.cache_control
