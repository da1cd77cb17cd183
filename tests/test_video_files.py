"""Content-hashed video names and stable thumbnail names."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile, File

from tests.conftest import image_bytes, stored_files
from videos import files
from videos.models import Video

pytestmark = pytest.mark.django_db


def make_video(slug: str, content: bytes, **fields) -> Video:
    video = Video(title=slug, slug=slug, file=ContentFile(content, name="x.mp4"))
    for name, value in fields.items():
        setattr(video, name, value)
    video.save()
    return video


def test_a_video_is_stored_under_its_sha256(media_root, mp4_bytes):
    video = make_video("a", mp4_bytes)

    digest = hashlib.sha256(mp4_bytes).hexdigest()
    assert video.file.name == f"videos/video-{digest}.mp4"
    assert video.sha256 == digest
    assert video.size == len(mp4_bytes)
    assert video.file.url == f"/media/videos/video-{digest}.mp4"
    assert (media_root / video.file.name).read_bytes() == mp4_bytes


def test_the_same_bytes_get_the_same_name_and_one_file(media_root, mp4_bytes):
    first = make_video("first", mp4_bytes)
    second = make_video("second", mp4_bytes)

    assert second.file.name == first.file.name
    assert stored_files(media_root) == [first.file.name]


def test_changed_bytes_get_a_new_name(media_root, mp4_bytes, other_mp4_bytes):
    video = make_video("a", mp4_bytes)
    old_name = video.file.name

    video.file = ContentFile(other_mp4_bytes, name="new.mp4")
    video.save()

    digest = hashlib.sha256(other_mp4_bytes).hexdigest()
    assert video.file.name == f"videos/video-{digest}.mp4"
    assert video.file.name != old_name


def test_a_replaced_video_file_is_deleted_once_unused(
    media_root, mp4_bytes, other_mp4_bytes, django_capture_on_commit_callbacks
):
    video = make_video("a", mp4_bytes)
    old_name = video.file.name

    with django_capture_on_commit_callbacks(execute=True):
        video = Video.objects.get(pk=video.pk)
        video.file = ContentFile(other_mp4_bytes, name="new.mp4")
        video.save()

    assert stored_files(media_root) == [video.file.name]
    assert old_name not in stored_files(media_root)


def test_a_file_two_videos_share_survives_deleting_one(
    media_root, mp4_bytes, django_capture_on_commit_callbacks
):
    first = make_video("first", mp4_bytes)
    second = make_video("second", mp4_bytes)

    with django_capture_on_commit_callbacks(execute=True):
        first.delete()
    assert stored_files(media_root) == [second.file.name]

    with django_capture_on_commit_callbacks(execute=True):
        second.delete()
    assert stored_files(media_root) == []


def test_the_duration_is_read_from_the_container(media_root, mp4_bytes):
    video = make_video("a", mp4_bytes)

    assert video.duration.total_seconds() == pytest.approx(2.0, abs=0.1)


class ChunksOnly(File):
    """A file that refuses to be read whole, to prove hashing streams it."""

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("the whole file was read at once")
        return super().read(size)


def test_hashing_a_stored_file_reads_it_in_chunks(mp4_bytes):
    content = ChunksOnly(io.BytesIO(mp4_bytes), name="x.mp4")

    assert files.content_hash(content) == hashlib.sha256(mp4_bytes).hexdigest()


def test_hashing_uses_the_digest_computed_while_uploading(mp4_bytes):
    content = ContentFile(mp4_bytes, name="x.mp4")
    content.sha256 = "f" * 64

    assert files.content_hash(content) == "f" * 64


def test_a_failed_insert_leaves_no_file_behind(media_root, mp4_bytes):
    make_video("taken", b"", file="")  # a row holding the slug, with no file

    with pytest.raises(Exception, match=r"UNIQUE|unique"):
        make_video("taken", mp4_bytes)

    assert stored_files(media_root) == []


def test_a_thumbnail_keeps_its_url_when_replaced(media_root, mp4_bytes):
    video = make_video(
        "a", mp4_bytes, thumbnail=ContentFile(image_bytes("PNG", "red"), "a.png")
    )
    name, url = video.thumbnail.name, video.thumbnail.url
    first = (media_root / name).read_bytes()

    video.thumbnail = ContentFile(image_bytes("PNG", "blue"), name="b.png")
    video.save()

    assert video.thumbnail.name == name == f"thumbnails/{video.pk}.jpg"
    assert video.thumbnail.url == url == f"/media/thumbnails/{video.pk}.jpg"
    assert (media_root / name).read_bytes() != first
    assert stored_files(media_root) == sorted([video.file.name, name])


def test_a_thumbnail_is_stored_as_a_jpeg_whatever_was_uploaded(media_root, mp4_bytes):
    video = make_video(
        "a", mp4_bytes, thumbnail=ContentFile(image_bytes("PNG"), name="t.png")
    )

    assert (media_root / video.thumbnail.name).read_bytes()[:3] == b"\xff\xd8\xff"
    assert re.fullmatch(r"thumbnails/[0-9a-f-]{36}\.jpg", video.thumbnail.name)


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(None, ""), (4.4, "0:04"), (65, "1:05"), (3723, "1:02:03")],
)
def test_the_duration_reads_as_a_player_shows_it(seconds, label):
    duration = None if seconds is None else timedelta(seconds=seconds)

    assert Video(duration=duration).duration_label == label
