"""Direct-to-S3 uploads from the admin, driven over real HTTP against moto."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from http import HTTPStatus

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from caching.policies import ADMIN, ERROR, VIDEO
from tests.s3 import VIDEO_BUCKET, s3_client, start_moto, use_s3
from videos import buckets, direct_uploads, processing
from videos import s3 as s3_ops
from videos.models import State, Upload, Video

pytestmark = pytest.mark.django_db

START_URL = "/admin/videos/video/uploads/"
ADD_URL = "/admin/videos/video/add/"


def post_json(client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def send(
    client,
    content: bytes,
    *,
    content_type="video/mp4",
    name="clip.mp4",
    declared: int | None = None,
):
    """Start an upload, PUT each part to its presigned URL; return its JSON."""
    size = len(content) if declared is None else declared
    started = post_json(
        client,
        START_URL,
        {"filename": name, "size": size, "content_type": content_type},
    )
    assert started.status_code == HTTPStatus.CREATED, started.content
    upload = started.json()
    numbers = list(range(1, upload["part_count"] + 1))
    signed = post_json(
        client, f"{START_URL}{upload['id']}/parts/", {"parts": numbers}
    ).json()
    part_size = upload["part_size"]
    for number in numbers:
        chunk = content[(number - 1) * part_size : number * part_size]
        answer = requests.put(signed["urls"][str(number)], data=chunk, timeout=10)
        assert answer.status_code == HTTPStatus.OK
    return upload


def test_a_multipart_upload_ends_in_a_ready_video(
    s3, staff_client, mp4_bytes, settings
):
    settings.HITRATE_VIDEO_MAX_BYTES = 50 * 1024**2
    content = mp4_bytes + b"\0" * (11 * 1024**2)  # two 8 MiB parts
    upload = send(staff_client, content)
    assert upload["part_count"] == 2

    done = post_json(staff_client, f"{START_URL}{upload['id']}/complete/")

    assert done.status_code == HTTPStatus.OK, done.content
    assert done["Cache-Control"] == ADMIN.cache_control
    digest = hashlib.sha256(content).hexdigest()
    name = f"videos/video-{digest}.mp4"
    assert done.json()["state"] == "ready"
    assert done.json()["stored_as"] == name
    assert s3.keys(VIDEO_BUCKET) == [name]
    head = s3.head(VIDEO_BUCKET, name)
    assert head["CacheControl"] == VIDEO.cache_control
    assert head["ContentType"] == "video/mp4"

    saved = staff_client.post(
        ADD_URL,
        {
            "title": "Straight to S3",
            "slug": "straight-to-s3",
            "upload_reference": done.json()["reference"],
            "is_published": "on",
        },
    )
    assert saved.status_code == HTTPStatus.FOUND, saved.content.decode()[:3000]
    video = Video.objects.get()
    assert video.file.name == name
    assert video.state == State.READY
    assert video.sha256 == digest
    assert video.size == len(content)
    assert video.duration == timedelta(seconds=2)
    assert video.file.url == f"{s3.endpoint}/{VIDEO_BUCKET}/{name}"
    assert Video.objects.published().get() == video


def nothing_left(s3) -> None:
    """No object, no multipart upload, no row: what a refusal must leave."""
    assert s3.keys(VIDEO_BUCKET) == []
    assert s3.multipart_uploads(VIDEO_BUCKET) == []
    assert not Upload.objects.exists()
    assert not Video.objects.exists()


@pytest.fixture
def padded_mp4(mp4_bytes, settings) -> bytes:
    """A real clip padded to two parts of 8 MiB."""
    settings.HITRATE_VIDEO_MAX_BYTES = 50 * 1024**2
    return mp4_bytes + b"\0" * (11 * 1024**2)


@pytest.mark.parametrize(
    ("size", "content_type", "message"),
    [
        (
            60 * 1024**2,
            "video/mp4",
            "A video may be at most 50.0\xa0MB; this one is 60.0\xa0MB.",
        ),
        (
            1000,
            "video/quicktime",
            "Only MP4 and WebM videos can be uploaded; this file is video/quicktime.",
        ),
        (
            1000,
            "",
            "Only MP4 and WebM videos can be uploaded; this file is of no "
            "declared type.",
        ),
        (0, "video/mp4", "size must be the file's length in bytes, at least 1."),
        ("12", "video/mp4", "size must be the file's length in bytes, at least 1."),
    ],
)
def test_an_upload_the_site_would_refuse_never_starts(
    s3, staff_client, settings, size, content_type, message
):
    settings.HITRATE_VIDEO_MAX_BYTES = 50 * 1024**2

    answer = post_json(
        staff_client,
        START_URL,
        {"filename": "clip.mp4", "size": size, "content_type": content_type},
    )

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json() == {"error": message}
    assert answer["Cache-Control"] == ERROR.cache_control
    nothing_left(s3)


def test_a_non_video_is_refused_once_its_bytes_arrive(s3, staff_client):
    upload = send(staff_client, b"just some text, certainly not a movie\n" * 100)

    answer = post_json(staff_client, f"{START_URL}{upload['id']}/complete/")

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json() == {"error": "The file is not an MP4 or WebM video."}
    nothing_left(s3)


def test_more_bytes_than_declared_are_refused(s3, staff_client, padded_mp4):
    # A presigned part accepts any length (and moto checks nothing), so the
    # size is checked from what S3 says it received.
    upload = send(staff_client, padded_mp4, declared=len(padded_mp4) - 5 * 1024**2)

    answer = post_json(staff_client, f"{START_URL}{upload['id']}/complete/")

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json() == {
        "error": "8.0\xa0MB arrived for a file declared as 6.0\xa0MB."
    }
    nothing_left(s3)


def test_completing_before_every_part_arrived_is_a_conflict(
    s3, staff_client, padded_mp4
):
    started = post_json(
        staff_client,
        START_URL,
        {"filename": "a.mp4", "size": len(padded_mp4), "content_type": "video/mp4"},
    ).json()
    url = post_json(
        staff_client, f"{START_URL}{started['id']}/parts/", {"parts": [1]}
    ).json()["urls"]["1"]
    requests.put(url, data=padded_mp4[: started["part_size"]], timeout=10)

    answer = post_json(staff_client, f"{START_URL}{started['id']}/complete/")
    status = staff_client.get(f"{START_URL}{started['id']}/")

    assert answer.status_code == HTTPStatus.CONFLICT
    assert answer.json() == {"error": "Part(s) 2 have not arrived yet."}
    assert status.json()["received"] == [1]
    assert status.json()["state"] == "uploading"


def test_part_numbers_outside_the_upload_are_refused(s3, staff_client):
    started = post_json(
        staff_client,
        START_URL,
        {"filename": "a.mp4", "size": 100, "content_type": "video/mp4"},
    ).json()

    answer = post_json(
        staff_client, f"{START_URL}{started['id']}/parts/", {"parts": [0, 2]}
    )

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json() == {"error": "Part numbers run from 1 to 1; got [0, 2]."}


def test_an_aborted_upload_leaves_nothing(s3, staff_client, padded_mp4):
    upload = send(staff_client, padded_mp4)

    answer = post_json(staff_client, f"{START_URL}{upload['id']}/abort/")

    assert answer.status_code == HTTPStatus.OK
    assert answer.json() == {"id": upload["id"], "state": "aborted"}
    nothing_left(s3)


def test_another_staff_members_upload_is_not_found(s3, staff_client, client):
    started = post_json(
        staff_client,
        START_URL,
        {"filename": "a.mp4", "size": 100, "content_type": "video/mp4"},
    ).json()
    other = get_user_model().objects.create_superuser("other", "o@example.com", None)
    client.force_login(other)

    answer = post_json(client, f"{START_URL}{started['id']}/abort/")

    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert answer.json() == {"error": "No such upload of yours."}
    assert Upload.objects.count() == 1


def test_viewers_cannot_start_uploads(s3, client):
    client.force_login(get_user_model().objects.create_user("viewer"))

    answer = post_json(
        client,
        START_URL,
        {"filename": "a.mp4", "size": 100, "content_type": "video/mp4"},
    )

    assert answer.status_code == HTTPStatus.FOUND
    assert answer["Location"].startswith("/admin/login/")
    assert not Upload.objects.exists()


def test_the_form_refuses_a_forged_reference(s3, staff_client):
    answer = staff_client.post(
        ADD_URL,
        {"title": "Forged", "slug": "forged", "upload_reference": "not-signed"},
    )

    assert answer.status_code == HTTPStatus.OK
    assert "The upload reference is not valid; upload again." in answer.content.decode()
    assert not Video.objects.exists()


def test_the_add_form_needs_an_upload(s3, staff_client):
    answer = staff_client.post(ADD_URL, {"title": "Empty", "slug": "empty"})

    assert answer.status_code == HTTPStatus.OK
    assert "Upload a video file." in answer.content.decode()
    assert not Video.objects.exists()


@pytest.fixture
def failing_s3(settings, monkeypatch, staff):
    """A moto server of this test's own, which the test may stop."""
    server, endpoint = start_moto()
    use_s3(settings, monkeypatch, endpoint)
    client = s3_client(endpoint)
    buckets.configure(client, VIDEO_BUCKET)
    yield server
    server.stop()


def test_s3_failing_mid_way_leaves_no_half_made_video(
    failing_s3, staff_client, padded_mp4, monkeypatch
):
    server = failing_s3
    real_copy = s3_ops.copy

    def stop_then_copy(*args, **kwargs):
        # Hashed and measured: S3 goes away just before the copy.
        server.stop()
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(s3_ops, "copy", stop_then_copy)
    upload = send(staff_client, padded_mp4)

    answer = post_json(staff_client, f"{START_URL}{upload['id']}/complete/")

    assert answer.status_code == HTTPStatus.BAD_GATEWAY
    assert answer.json()["error"].startswith(
        "S3 failed while processing the upload: Could not connect to the endpoint"
    )
    assert not Video.objects.exists()
    failed = Upload.objects.get()
    assert failed.state == State.FAILED
    assert failed.stored_name == ""
    saved = staff_client.post(
        ADD_URL,
        {
            "title": "Half",
            "slug": "half",
            "upload_reference": direct_uploads.reference(failed),
        },
    )
    assert saved.status_code == HTTPStatus.OK
    assert (
        escape(f"That upload failed: {failed.failure} Upload the file again.")
        in saved.content.decode()
    )
    assert not Video.objects.exists()


def event_for(key: str) -> dict:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:CompleteMultipartUpload",
                "s3": {
                    "bucket": {"name": VIDEO_BUCKET},
                    "object": {"key": key.replace("/", "%2F")},
                },
            }
        ]
    }


def test_in_event_mode_the_video_waits_for_the_s3_event(
    s3, staff_client, padded_mp4, settings
):
    settings.HITRATE_UPLOAD_PROCESSING = "event"
    upload = send(staff_client, padded_mp4)

    done = post_json(staff_client, f"{START_URL}{upload['id']}/complete/")
    assert done.status_code == HTTPStatus.ACCEPTED
    assert done.json()["state"] == "processing"
    saved = staff_client.post(
        ADD_URL,
        {
            "title": "Later",
            "slug": "later",
            "upload_reference": done.json()["reference"],
        },
    )
    assert saved.status_code == HTTPStatus.FOUND
    video = Video.objects.get()
    assert video.state == State.PROCESSING
    assert video.file.name == ""
    assert not Video.objects.published().exists()

    processing.handle_s3_event(event_for(Upload.objects.get().key))

    video.refresh_from_db()
    digest = hashlib.sha256(padded_mp4).hexdigest()
    assert video.state == State.READY
    assert video.file.name == f"videos/video-{digest}.mp4"
    assert s3.keys(VIDEO_BUCKET) == [video.file.name]


def test_an_event_twice_processes_once(s3, staff_client, padded_mp4, settings):
    settings.HITRATE_UPLOAD_PROCESSING = "event"
    upload = send(staff_client, padded_mp4)
    post_json(staff_client, f"{START_URL}{upload['id']}/complete/")
    event = event_for(Upload.objects.get().key)

    processing.handle_s3_event(event)
    processing.handle_s3_event(event)

    assert Upload.objects.get().state == State.READY
    assert len(s3.keys(VIDEO_BUCKET)) == 1


def test_an_upload_refused_by_complete_while_its_event_runs_ends_quietly(
    s3, staff_client, padded_mp4, settings, monkeypatch
):
    settings.HITRATE_UPLOAD_PROCESSING = "event"
    upload = send(staff_client, padded_mp4)
    post_json(staff_client, f"{START_URL}{upload['id']}/complete/")
    real_store = processing.store

    def refused_meanwhile(client, bucket, key, **kwargs):
        # The "complete" call judged the same bytes first and threw the
        # upload away, row and object, while this delivery was under way.
        direct_uploads.abort(Upload.objects.get())
        return real_store(client, bucket, key, **kwargs)

    monkeypatch.setattr(processing, "store", refused_meanwhile)

    processing.handle_s3_event(event_for(f"staging/{upload['id']}"))

    nothing_left(s3)


def test_publishing_waits_for_a_ready_file(s3, staff_client, padded_mp4, settings):
    settings.HITRATE_UPLOAD_PROCESSING = "event"
    upload = send(staff_client, padded_mp4)
    done = post_json(staff_client, f"{START_URL}{upload['id']}/complete/").json()

    answer = staff_client.post(
        ADD_URL,
        {
            "title": "Eager",
            "slug": "eager",
            "upload_reference": done["reference"],
            "is_published": "on",
        },
    )

    assert answer.status_code == HTTPStatus.OK
    assert "A video is published only once its file is ready" in answer.content.decode()
    assert not Video.objects.exists()


def test_a_refused_file_in_event_mode_marks_the_video_failed(
    s3, staff_client, padded_mp4, settings
):
    settings.HITRATE_UPLOAD_PROCESSING = "event"
    upload = send(staff_client, padded_mp4)
    done = post_json(staff_client, f"{START_URL}{upload['id']}/complete/").json()
    staff_client.post(
        ADD_URL,
        {"title": "Big", "slug": "big", "upload_reference": done["reference"]},
    )
    # The limit shrank while the upload waited for its event.
    settings.HITRATE_VIDEO_MAX_BYTES = 1024

    processing.handle_s3_event(event_for(Upload.objects.get().key))

    video = Video.objects.get()
    assert video.state == State.FAILED
    assert video.failure == "A video may be at most 1.0\xa0KB; this one is 11.0\xa0MB."
    assert s3.keys(VIDEO_BUCKET) == []
    assert not Video.objects.published().exists()


def test_the_video_list_reads_every_upload_in_one_query(staff_client):
    def video_with_upload(number: int) -> None:
        upload = Upload.objects.create(
            key=f"staging/{number}",
            filename=f"{number}.mp4",
            declared_size=1,
            content_type="video/mp4",
            part_size=direct_uploads.PART_SIZE,
            state=State.PROCESSING,
        )
        Video.objects.create(
            title=f"Video {number}",
            slug=f"video-{number}",
            upload=upload,
            state=State.PROCESSING,
        )

    def list_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            answer = staff_client.get("/admin/videos/video/")
        assert answer.status_code == HTTPStatus.OK
        assert (
            answer.content.decode().count(">processing</td>") == Video.objects.count()
        )
        return len(queries)

    video_with_upload(1)
    one = list_queries()
    video_with_upload(2)
    video_with_upload(3)

    assert list_queries() == one
