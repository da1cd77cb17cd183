"""Media and static files in S3: names, metadata, versions and URLs.

Every object is written through moto's server over real HTTP and read back
with head_object, which shows what CloudFront would pass on to browsers.
"""

from __future__ import annotations

import hashlib

import pytest
import requests
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.base import ContentFile
from django.core.management import call_command

from caching.policies import ERROR, STATIC, STATIC_UNHASHED, THUMBNAIL, VIDEO
from config import storage_config
from tests.conftest import image_bytes
from tests.s3 import IMAGE_BUCKET, REGION, STATIC_BUCKET, VIDEO_BUCKET
from videos import files
from videos import s3 as s3_ops
from videos.models import Video

pytestmark = pytest.mark.django_db


def make_video(mp4: bytes, **fields) -> Video:
    return Video.objects.create(
        title="Edge cases",
        slug=fields.pop("slug", "edge-cases"),
        file=ContentFile(mp4, name="clip.mp4"),
        thumbnail=ContentFile(image_bytes(), name="poster.png"),
        **fields,
    )


def test_a_video_is_stored_under_its_hash_with_the_video_policy(s3, mp4_bytes):
    video = make_video(mp4_bytes)

    name = f"videos/video-{hashlib.sha256(mp4_bytes).hexdigest()}.mp4"
    assert video.file.name == name
    assert s3.keys(VIDEO_BUCKET) == [name]
    head = s3.head(VIDEO_BUCKET, name)
    assert head["CacheControl"] == VIDEO.cache_control
    assert head["ContentType"] == "video/mp4"
    assert head["ContentLength"] == len(mp4_bytes)


def test_a_thumbnail_is_a_jpeg_with_the_thumbnail_policy(s3, mp4_bytes):
    video = make_video(mp4_bytes)

    name = f"thumbnails/{video.pk}.jpg"
    assert s3.keys(IMAGE_BUCKET) == [name]
    head = s3.head(IMAGE_BUCKET, name)
    assert head["CacheControl"] == THUMBNAIL.cache_control
    assert head["ContentType"] == "image/jpeg"


def test_a_webm_video_is_stored_as_video_webm(s3):
    webm = bytes.fromhex("1a45dfa3") + bytes.fromhex("9f4282847765626d") + b"\0" * 64
    video = Video.objects.create(
        title="WebM", slug="webm", file=ContentFile(webm, name="clip.webm")
    )

    assert video.file.name.endswith(".webm")
    assert s3.head(VIDEO_BUCKET, video.file.name)["ContentType"] == "video/webm"


def test_the_browsers_claimed_type_does_not_reach_s3(s3, mp4_bytes):
    upload = ContentFile(mp4_bytes, name="clip.mp4")
    upload.content_type = "application/octet-stream"

    video = Video.objects.create(title="Typed", slug="typed", file=upload)

    assert s3.head(VIDEO_BUCKET, video.file.name)["ContentType"] == "video/mp4"


def test_a_thumbnail_replaced_twice_has_three_versions_and_one_url(s3, mp4_bytes):
    video = make_video(mp4_bytes)
    first_url = video.thumbnail.url

    for colour in ("blue", "green"):
        video.thumbnail = ContentFile(image_bytes(colour=colour), name="new.png")
        video.save()

    name = f"thumbnails/{video.pk}.jpg"
    assert video.thumbnail.url == first_url
    assert first_url == f"{s3.endpoint}/{IMAGE_BUCKET}/{name}"
    versions = s3.versions(IMAGE_BUCKET, name)
    assert len(versions) == 3
    assert [v["IsLatest"] for v in versions].count(True) == 1
    assert s3.keys(IMAGE_BUCKET) == [name]


def test_the_same_bytes_uploaded_twice_are_stored_once(s3, mp4_bytes):
    make_video(mp4_bytes, slug="first")
    make_video(mp4_bytes, slug="second")

    assert len(s3.keys(VIDEO_BUCKET)) == 1
    name = s3.keys(VIDEO_BUCKET)[0]
    assert len(s3.versions(VIDEO_BUCKET, name)) == 1


def test_media_urls_are_plain_and_public(s3, mp4_bytes):
    video = make_video(mp4_bytes)

    answer = requests.get(video.file.url, headers={"Range": "bytes=0-9"}, timeout=5)

    assert "X-Amz" not in video.file.url
    assert answer.status_code == 206
    assert answer.headers["Cache-Control"] == VIDEO.cache_control
    assert answer.content == mp4_bytes[:10]


def test_media_urls_point_at_the_cdn_domain_when_one_is_set(s3, settings, mp4_bytes):
    settings.STORAGES = storage_config.storages(
        "s3",
        video_bucket=VIDEO_BUCKET,
        image_bucket=IMAGE_BUCKET,
        static_bucket=STATIC_BUCKET,
        domain="media.hitrate.example",
        endpoint_url=s3.endpoint,
        region=REGION,
    )
    video = make_video(mp4_bytes)

    assert video.file.url == f"https://media.hitrate.example/{video.file.name}"
    assert (
        video.thumbnail.url
        == f"https://media.hitrate.example/thumbnails/{video.pk}.jpg"
    )


def test_static_files_are_collected_with_their_two_policies(s3, settings, tmp_path):
    # The manifest is written locally: keep the session's own untouched.
    settings.STATIC_ROOT = tmp_path / "static"
    # The admin's hundreds of files would take most of a minute against moto.
    call_command(
        "collectstatic", interactive=False, verbosity=0, ignore_patterns=["admin"]
    )

    hashed = staticfiles_storage.stored_name("hitrate.css")
    assert hashed != "hitrate.css"
    keys = s3.keys(STATIC_BUCKET)
    assert f"static/{hashed}" in keys
    assert "static/hitrate.css" in keys
    hashed_head = s3.head(STATIC_BUCKET, f"static/{hashed}")
    assert hashed_head["CacheControl"] == STATIC.cache_control
    assert hashed_head["ContentType"] == "text/css; charset=utf-8"
    plain_head = s3.head(STATIC_BUCKET, "static/hitrate.css")
    assert plain_head["CacheControl"] == STATIC_UNHASHED.cache_control
    assert staticfiles_storage.url("hitrate.css") == (
        f"{s3.endpoint}/{STATIC_BUCKET}/static/{hashed}"
    )


def test_a_copy_above_the_single_request_limit_goes_in_parts(s3):
    content = bytes(range(256)) * (11 * 4096)  # 11 MiB
    s3.client.put_object(Bucket=VIDEO_BUCKET, Key="staging/big", Body=content)
    metadata = {"CacheControl": VIDEO.cache_control, "ContentType": "video/mp4"}

    s3_ops.copy(
        s3.client,
        VIDEO_BUCKET,
        "staging/big",
        "videos/big.mp4",
        len(content),
        metadata,
        max_single=5 * 1024**2,
        part_size=5 * 1024**2,
    )

    copied = s3.client.get_object(Bucket=VIDEO_BUCKET, Key="videos/big.mp4")
    assert copied["Body"].read() == content
    assert copied["CacheControl"] == VIDEO.cache_control
    assert copied["ContentType"] == "video/mp4"
    assert copied["ETag"].endswith('-3"')  # assembled from three parts
    assert s3.multipart_uploads(VIDEO_BUCKET) == []


def test_deleting_every_version_leaves_no_marker(s3):
    for body in (b"one", b"two"):
        s3.client.put_object(Bucket=VIDEO_BUCKET, Key="staging/x", Body=body)
    s3.client.delete_object(Bucket=VIDEO_BUCKET, Key="staging/x")

    s3_ops.delete_every_version(s3.client, VIDEO_BUCKET, "staging/x")

    listed = s3.client.list_object_versions(Bucket=VIDEO_BUCKET, Prefix="staging/")
    assert "Versions" not in listed
    assert "DeleteMarkers" not in listed


def test_a_range_reader_reads_across_blocks_with_few_requests(s3):
    content = bytes(range(256)) * 1024
    s3.client.put_object(Bucket=VIDEO_BUCKET, Key="staging/r", Body=content)
    reader = s3_ops.RangeReader(
        s3.client, VIDEO_BUCKET, "staging/r", len(content), block=4096
    )

    reader.seek(1000)
    first = reader.read(100)
    second = reader.read(100)
    reader.seek(-10, 2)
    last = reader.read(50)

    assert first == content[1000:1100]
    assert second == content[1100:1200]
    assert last == content[-10:]
    assert reader.requests == 2


def test_the_buckets_are_versioned_with_lifecycle_rules(s3):
    for bucket in (VIDEO_BUCKET, IMAGE_BUCKET, STATIC_BUCKET):
        versioning = s3.client.get_bucket_versioning(Bucket=bucket)
        assert versioning["Status"] == "Enabled"
        rules = s3.client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert [rule["ID"] for rule in rules] == ["abandoned-uploads", "old-versions"]


def test_the_storage_stand_in_follows_the_settings(s3, settings):
    assert files.is_s3(files.video_storage())
    assert files.video_storage().bucket_name == VIDEO_BUCKET
    settings.STORAGES = storage_config.storages("filesystem")
    assert not files.is_s3(files.video_storage())


def test_the_app_serves_no_media_of_its_own_in_s3_mode(s3, client, mp4_bytes):
    video = make_video(mp4_bytes)

    answer = client.get(f"/media/{video.file.name}")

    assert answer.status_code == 404
    assert answer["Cache-Control"] == ERROR.cache_control
