"""manage.py checkmedia against moto: drift found, repaired, and debris removed."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.utils import timezone

from caching.policies import STATIC, THUMBNAIL, VIDEO
from tests.conftest import image_bytes
from tests.s3 import IMAGE_BUCKET, STATIC_BUCKET, VIDEO_BUCKET
from videos import media_audit
from videos.management.commands.checkmedia import NEEDS_FIX, ON_FILE_SYSTEM
from videos.models import State, Upload, Video

pytestmark = pytest.mark.django_db

STATIC_NAME = "hitrate.css"


def checkmedia(*args: str) -> str:
    out = io.StringIO()
    call_command("checkmedia", *args, stdout=out)
    return out.getvalue()


def failing_checkmedia(*args: str) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("checkmedia", *args, stdout=out)
    assert str(raised.value) == NEEDS_FIX
    return out.getvalue()


@pytest.fixture
def video(s3, mp4_bytes) -> Video:
    """A video saved through the ORM, its files written by the S3 storages."""
    video = Video(
        title="Stored",
        slug="stored",
        file=ContentFile(mp4_bytes, name="clip.mp4"),
        thumbnail=ContentFile(image_bytes(), name="poster.png"),
    )
    video.save()
    return video


def replace_headers(s3, bucket: str, key: str, **headers) -> None:
    """Change an object's headers in place, as a console edit or a script would."""
    s3.client.copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": bucket, "Key": key},
        MetadataDirective="REPLACE",
        **headers,
    )


def put(s3, bucket: str, key: str, **headers) -> None:
    s3.client.put_object(Bucket=bucket, Key=key, Body=b"debris", **headers)


def test_a_clean_catalogue_passes(video):
    assert checkmedia() == "Checked 2 objects: 0 drifted, 0 unreferenced.\n"


@pytest.mark.parametrize(
    ("header", "label", "wrong", "right"),
    [
        ("CacheControl", "Cache-Control", "max-age=60", VIDEO.cache_control),
        ("ContentType", "Content-Type", "application/octet-stream", "video/mp4"),
    ],
    ids=["cache-control", "content-type"],
)
def test_a_changed_video_header_is_reported_then_fixed(
    s3, video, header, label, wrong, right
):
    name = video.file.name
    headers = {"CacheControl": VIDEO.cache_control, "ContentType": "video/mp4"}
    replace_headers(s3, VIDEO_BUCKET, name, **{**headers, header: wrong})

    assert failing_checkmedia() == (
        f'{VIDEO_BUCKET}/{name}: {label} is "{wrong}", must be "{right}"\n'
        "Checked 2 objects: 1 drifted, 0 unreferenced.\n"
    )
    assert checkmedia("--fix") == (
        f'{VIDEO_BUCKET}/{name}: {label} is "{wrong}", must be "{right}"\n'
        f"{VIDEO_BUCKET}/{name}: fixed, copied onto itself with the table's headers\n"
        "Checked 2 objects: 1 drifted, 1 fixed; 0 unreferenced, 0 deleted.\n"
    )
    head = s3.head(VIDEO_BUCKET, name)
    assert head["CacheControl"] == VIDEO.cache_control
    assert head["ContentType"] == "video/mp4"
    assert checkmedia() == "Checked 2 objects: 0 drifted, 0 unreferenced.\n"


def test_a_missing_cache_control_is_drift_and_other_metadata_survives_the_fix(
    s3, video
):
    name = video.thumbnail.name
    replace_headers(
        s3,
        IMAGE_BUCKET,
        name,
        ContentType="image/jpeg",
        ContentDisposition="inline",
        Metadata={"source": "console"},
    )

    assert failing_checkmedia() == (
        f'{IMAGE_BUCKET}/{name}: Cache-Control is missing, must be "{THUMBNAIL}"\n'
        "Checked 2 objects: 1 drifted, 0 unreferenced.\n"
    )
    checkmedia("--fix")
    head = s3.head(IMAGE_BUCKET, name)
    assert head["CacheControl"] == THUMBNAIL.cache_control
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentDisposition"] == "inline"
    assert head["Metadata"] == {"source": "console"}


def test_a_drifted_hashed_static_file_is_found(s3):
    # Named as collectstatic names it, with the headers it writes for it.
    hashed = storages["staticfiles"].hashed_files[STATIC_NAME]
    key = f"static/{hashed}"
    css = "text/css; charset=utf-8"
    put(s3, STATIC_BUCKET, key, CacheControl=str(STATIC), ContentType=css)
    assert checkmedia() == "Checked 1 object: 0 drifted, 0 unreferenced.\n"

    replace_headers(s3, STATIC_BUCKET, key, CacheControl="no-cache", ContentType=css)

    assert failing_checkmedia() == (
        f'{STATIC_BUCKET}/{key}: Cache-Control is "no-cache", must be "{STATIC}"\n'
        "Checked 1 object: 1 drifted, 0 unreferenced.\n"
    )


def test_static_files_are_skipped_without_a_manifest(s3, monkeypatch):
    static = storages["staticfiles"]
    key = f"static/{static.hashed_files[STATIC_NAME]}"
    put(s3, STATIC_BUCKET, key, CacheControl=str(STATIC), ContentType="text/css")
    monkeypatch.setattr(static, "hashed_files", {})
    out, err = io.StringIO(), io.StringIO()

    call_command("checkmedia", "--fix", stdout=out, stderr=err)

    assert err.getvalue() == f"{media_audit.NO_MANIFEST}\n"
    assert out.getvalue() == (
        "Checked 0 objects: 0 drifted, 0 fixed; 0 unreferenced, 0 deleted.\n"
    )
    assert s3.head(STATIC_BUCKET, key)["CacheControl"] == STATIC.cache_control


def test_an_old_unreferenced_video_is_reported_then_deleted(s3, video):
    stray = "videos/video-0000.mp4"
    put(s3, VIDEO_BUCKET, stray, CacheControl=str(VIDEO), ContentType="video/mp4")

    assert failing_checkmedia() == (
        f"{VIDEO_BUCKET}/{stray}: not referenced by any video\n"
        "Checked 3 objects: 0 drifted, 1 unreferenced.\n"
    )
    assert checkmedia("--fix", "--older-than", "0") == (
        f"{VIDEO_BUCKET}/{stray}: not referenced by any video\n"
        f"{VIDEO_BUCKET}/{stray}: deleted\n"
        "Checked 3 objects: 0 drifted, 0 fixed; 1 unreferenced, 1 deleted.\n"
    )
    assert s3.keys(VIDEO_BUCKET) == [video.file.name]
    # A plain delete: the bytes stay as a noncurrent version for a while.
    assert len(s3.versions(VIDEO_BUCKET, stray)) == 1


def test_a_recent_unreferenced_object_is_kept_by_default(s3):
    stray = "thumbnails/gone.jpg"
    put(s3, IMAGE_BUCKET, stray, CacheControl=str(THUMBNAIL), ContentType="image/jpeg")

    assert checkmedia("--fix") == (
        f"{IMAGE_BUCKET}/{stray}: not referenced by any video\n"
        f"{IMAGE_BUCKET}/{stray}: kept, modified less than 3600 s ago\n"
        "Checked 1 object: 0 drifted, 0 fixed; 1 unreferenced, 0 deleted, "
        "1 kept as recent.\n"
    )
    assert s3.keys(IMAGE_BUCKET) == [stray]


def test_a_staged_object_is_debris_once_its_upload_finished(s3):
    def upload(key: str, state: State, finished: bool) -> None:
        put(s3, VIDEO_BUCKET, key)
        Upload.objects.create(
            key=key,
            filename="clip.mp4",
            declared_size=6,
            content_type="video/mp4",
            part_size=6,
            state=state,
            finished_at="2025-01-01T00:00:00Z" if finished else None,
        )

    upload("staging/in-progress", State.UPLOADING, finished=False)
    upload("staging/failed", State.FAILED, finished=True)
    put(s3, VIDEO_BUCKET, "staging/unknown")

    assert failing_checkmedia() == (
        f"{VIDEO_BUCKET}/staging/failed: not referenced by any unfinished upload\n"
        f"{VIDEO_BUCKET}/staging/unknown: not referenced by any unfinished upload\n"
        "Checked 3 objects: 0 drifted, 2 unreferenced.\n"
    )


def processed_upload(s3, name: str, finished: timedelta) -> Upload:
    """A stored video whose upload finished that long ago, on no video yet."""
    put(s3, VIDEO_BUCKET, name, CacheControl=str(VIDEO), ContentType="video/mp4")
    return Upload.objects.create(
        key="staging/done",
        filename="clip.mp4",
        declared_size=6,
        content_type="video/mp4",
        part_size=6,
        state=State.READY,
        stored_name=name,
        finished_at=timezone.now() - finished,
    )


def test_a_ready_upload_not_yet_saved_on_a_video_keeps_its_file(s3):
    name = "videos/video-1111.mp4"
    processed_upload(s3, name, finished=timedelta(hours=23))

    assert checkmedia() == "Checked 1 object: 0 drifted, 0 unreferenced.\n"


def test_a_ready_upload_abandoned_for_a_day_leaves_its_file_unreferenced(s3):
    name = "videos/video-1111.mp4"
    processed_upload(s3, name, finished=timedelta(hours=25))

    assert failing_checkmedia() == (
        f"{VIDEO_BUCKET}/{name}: not referenced by any video\n"
        "Checked 1 object: 0 drifted, 1 unreferenced.\n"
    )


def test_every_page_of_a_listing_is_checked(s3, video, monkeypatch):
    monkeypatch.setattr(media_audit, "PAGE_SIZE", 1)
    put(s3, VIDEO_BUCKET, "videos/video-2222.mp4")

    assert failing_checkmedia() == (
        f"{VIDEO_BUCKET}/videos/video-2222.mp4: not referenced by any video\n"
        "Checked 3 objects: 0 drifted, 1 unreferenced.\n"
    )


def test_media_on_the_file_system_is_refused(media_root):
    with pytest.raises(CommandError) as raised:
        checkmedia()

    assert str(raised.value) == ON_FILE_SYSTEM
