"""The /media/ view and serve_file: policies, validators, ranges, streaming."""

from __future__ import annotations

import builtins
import io
import os
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.signals import request_finished
from django.http import Http404

from caching.policies import ERROR, STATIC_UNHASHED, THUMBNAIL, VIDEO
from videos.serving import serve_file

SIZE = 100_000
# A period of 251 bytes, a prime, makes neighbouring slices differ, so an
# off-by-one shows in the body.
BODY = (bytes(range(251)) * (SIZE // 251 + 1))[:SIZE]
MTIME_NS = 1_700_000_000_123_456_789
ETAG = '"186a0-17979cfe3d85cd15"'
LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"
SECOND_BEFORE = "Tue, 14 Nov 2023 22:13:19 GMT"
SECOND_AFTER = "Tue, 14 Nov 2023 22:13:21 GMT"
STALE_ETAG = '"186a0-0"'

DIGEST = "0123456789abcdef" * 4
VIDEO_NAME = f"videos/video-{DIGEST}.mp4"
VIDEO_URL = f"/media/{VIDEO_NAME}"

JPEG = b"\xff\xd8\xff\xe0 the first thumbnail \xff\xd9"
NEW_JPEG = b"\xff\xd8\xff\xe0 a second thumbnail! \xff\xd9"
THUMBNAIL_NAME = "thumbnails/6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b.jpg"
THUMBNAIL_URL = f"/media/{THUMBNAIL_NAME}"
THUMBNAIL_ETAG = '"1b-17979cfe3d85cd15"'


def write(path: Path, data: bytes, mtime_ns: int = MTIME_NS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def content(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def video(media_root) -> Path:
    return write(media_root / VIDEO_NAME, BODY)


@pytest.fixture
def thumbnail(media_root) -> Path:
    return write(media_root / THUMBNAIL_NAME, JPEG)


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file beside the media root, which no URL may reach."""
    return write(tmp_path / "secret.txt", b"outside the media root")


@pytest.fixture
def quiet_request_finished(monkeypatch) -> None:
    """Let a test close a response itself, as a server would.

    Closing sends request_finished, whose database clean-up pytest-django
    forbids outside database tests; Django's test client mutes it too.
    """
    monkeypatch.setattr(request_finished, "send", lambda *args, **kwargs: [])


@pytest.fixture
def opened(monkeypatch, tmp_path) -> list:
    """Every file under tmp_path opened for reading while the test runs."""
    files = []
    real_open = io.open

    def spy(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        is_path = isinstance(file, str | Path)
        if is_path and mode.startswith("r") and Path(file).is_relative_to(tmp_path):
            files.append(handle)
        return handle

    monkeypatch.setattr(io, "open", spy)
    monkeypatch.setattr(builtins, "open", spy)
    return files


def test_a_full_video_get_carries_its_policy_validators_and_bytes(client, video):
    response = client.get(VIDEO_URL)

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == VIDEO.cache_control
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == "100000"
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == ETAG
    assert response["Last-Modified"] == LAST_MODIFIED
    assert "Content-Range" not in response
    assert "Expires" not in response
    assert content(response) == BODY


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=99990-", 99_990, 99_999),
        ("bytes=-10", 99_990, 99_999),
        ("bytes=5-5", 5, 5),
        ("bytes=99990-200000", 99_990, 99_999),
        ("bytes=-200000", 0, 99_999),
        ("Bytes = 10 - 19", 10, 19),
        ("bytes=0-99,", 0, 99),
    ],
)
def test_a_video_range_gets_206_with_content_range(client, video, header, start, end):
    response = client.get(VIDEO_URL, headers={"range": header})

    assert response.status_code == HTTPStatus.PARTIAL_CONTENT
    assert response["Content-Range"] == f"bytes {start}-{end}/100000"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Cache-Control"] == VIDEO.cache_control
    assert response["ETag"] == ETAG
    assert content(response) == BODY[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=100000-", "bytes=100000-100009", "bytes=-0"])
def test_a_range_past_the_end_gets_416_with_the_size(client, video, header):
    response = client.get(VIDEO_URL, headers={"range": header})

    assert response.status_code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE
    assert response["Content-Range"] == "bytes */100000"
    assert response["Cache-Control"] == ERROR.cache_control
    assert content(response) == b""


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-9,20-29",
        "bytes=0-9, 100000-",
        "bytes=9-5",
        "bytes=abc",
        "bytes=",
        "bytes=-",
        "bytes=0-9-",
        "bytes 0-9",
        "items=0-9",
        "bytes=\u0663-",
        "bytes=1234567890123456789-",
    ],
)
def test_a_range_it_does_not_serve_gets_the_whole_video(client, video, header):
    response = client.get(VIDEO_URL, headers={"range": header})

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Length"] == "100000"
    assert "Content-Range" not in response
    assert content(response) == BODY


@pytest.mark.parametrize(
    ("if_range", "status"),
    [
        (ETAG, HTTPStatus.PARTIAL_CONTENT),
        (LAST_MODIFIED, HTTPStatus.PARTIAL_CONTENT),
        (STALE_ETAG, HTTPStatus.OK),
        (f"W/{ETAG}", HTTPStatus.OK),
        (SECOND_BEFORE, HTTPStatus.OK),
        ("not a validator", HTTPStatus.OK),
    ],
)
def test_if_range_allows_the_range_only_for_the_current_validator(
    client, video, if_range, status
):
    response = client.get(
        VIDEO_URL, headers={"range": "bytes=0-99", "if-range": if_range}
    )

    assert response.status_code == status
    assert content(response) == (BODY[:100] if status == 206 else BODY)


def test_a_stale_if_range_gets_the_whole_video_even_for_a_range_past_the_end(
    client, video
):
    response = client.get(
        VIDEO_URL, headers={"range": "bytes=100000-", "if-range": STALE_ETAG}
    )

    assert response.status_code == HTTPStatus.OK
    assert content(response) == BODY


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=-5"])
def test_a_range_of_an_empty_file_gets_the_empty_file(client, media_root, header):
    write(media_root / "videos" / "video-empty.mp4", b"")

    response = client.get("/media/videos/video-empty.mp4", headers={"range": header})

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Length"] == "0"
    assert content(response) == b""


def test_head_gets_the_headers_of_get_without_opening_the_file(client, video, opened):
    get = client.get(VIDEO_URL)
    assert len(opened) == 1
    opened.clear()

    head = client.head(VIDEO_URL)

    def described(response):
        # Server-Timing measures each request, so it differs between the two.
        headers = dict(response.headers)
        headers.pop("Server-Timing")
        return headers

    assert head.status_code == HTTPStatus.OK
    assert described(head) == described(get)
    assert head.content == b""
    assert opened == []


def test_head_ignores_range_as_only_get_defines_it(client, video):
    response = client.head(VIDEO_URL, headers={"range": "bytes=0-99"})

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Length"] == "100000"
    assert "Content-Range" not in response


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize(
    "headers",
    [
        {"if-none-match": ETAG},
        {"if-none-match": f'"other", W/{ETAG}'},
        {"if-none-match": "*"},
        {"if-modified-since": LAST_MODIFIED},
        {"if-modified-since": SECOND_AFTER},
        {"if-none-match": ETAG, "range": "bytes=0-99"},
    ],
)
def test_a_current_validator_gets_304_with_the_video_policy(
    client, video, method, headers
):
    response = getattr(client, method)(VIDEO_URL, headers=headers)

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response["Cache-Control"] == VIDEO.cache_control
    assert response["ETag"] == ETAG
    assert response["Last-Modified"] == LAST_MODIFIED
    assert response["Content-Length"] == "100000"
    assert "Content-Range" not in response
    assert response.content == b""


@pytest.mark.parametrize(
    "headers",
    [
        {"if-none-match": STALE_ETAG},
        {"if-modified-since": SECOND_BEFORE},
        {"if-match": ETAG},
        {"if-match": ETAG, "if-unmodified-since": SECOND_BEFORE},
        {"if-unmodified-since": LAST_MODIFIED},
    ],
)
def test_a_condition_that_holds_gets_the_whole_video(client, video, headers):
    response = client.get(VIDEO_URL, headers=headers)

    assert response.status_code == HTTPStatus.OK
    assert content(response) == BODY


@pytest.mark.parametrize(
    "headers",
    [
        {"if-match": STALE_ETAG},
        {"if-match": f"W/{ETAG}"},
        {"if-unmodified-since": SECOND_BEFORE},
    ],
)
def test_a_failed_precondition_gets_412_with_the_error_policy(client, video, headers):
    response = client.get(VIDEO_URL, headers=headers)

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert response["Cache-Control"] == ERROR.cache_control
    assert "ETag" not in response


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, HTTPStatus.OK), ({"if-none-match": THUMBNAIL_ETAG}, HTTPStatus.NOT_MODIFIED)],
)
def test_a_thumbnail_and_its_304_carry_the_thumbnail_policy(
    client, thumbnail, headers, status
):
    response = client.get(THUMBNAIL_URL, headers=headers)

    assert response.status_code == status
    assert response["Cache-Control"] == THUMBNAIL.cache_control
    assert response["ETag"] == THUMBNAIL_ETAG


def test_a_thumbnail_is_a_jpeg(client, thumbnail):
    response = client.get(THUMBNAIL_URL)

    assert response["Content-Type"] == "image/jpeg"
    assert content(response) == JPEG


def test_a_replaced_thumbnail_gets_a_new_etag_and_bytes_at_the_same_url(
    client, thumbnail
):
    before = client.get(THUMBNAIL_URL)
    assert content(before) == JPEG

    thumbnail.write_bytes(NEW_JPEG)
    after = client.get(THUMBNAIL_URL)
    revalidated = client.get(THUMBNAIL_URL, headers={"if-none-match": before["ETag"]})

    stats = thumbnail.stat()
    assert len(NEW_JPEG) == len(JPEG)
    assert after["ETag"] == f'"{stats.st_size:x}-{stats.st_mtime_ns:x}"'
    assert after["ETag"] != before["ETag"]
    assert content(after) == NEW_JPEG
    assert revalidated.status_code == HTTPStatus.OK
    assert content(revalidated) == NEW_JPEG


@pytest.mark.parametrize(
    "url",
    [
        "/media/../secret.txt",
        "/media/videos/../../secret.txt",
        "/media/thumbnails/../../secret.txt",
        "/media/videos/%2e%2e/%2e%2e/secret.txt",
        "/media/videos/..%2f..%2fsecret.txt",
        "/media/{secret}",
        "/media/videos/{secret}",
        "/media/videos/escape.mp4",
        "/media/videos/secret%00.mp4",
        "/media/other/x.txt",
        "/media/videos",
        "/media/videos/folder",
        "/media/videos/missing.mp4",
    ],
)
def test_anything_but_a_stored_file_of_a_known_kind_gets_404(
    client, media_root, secret, url
):
    write(media_root / "other" / "x.txt", b"an unknown kind")
    (media_root / "videos" / "folder").mkdir(parents=True)
    (media_root / "videos" / "escape.mp4").symlink_to(secret)

    response = client.get(url.format(secret=secret))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Cache-Control"] == ERROR.cache_control


@pytest.mark.parametrize(
    "name",
    [
        "{secret}",
        "{media_root}/" + VIDEO_NAME,
        "../secret.txt",
        "videos/../../secret.txt",
        "videos/escape.mp4",
        "videos/video\0.mp4",
        "",
        "videos",
    ],
)
def test_serve_file_refuses_what_is_not_a_file_inside_its_root(
    rf, media_root, video, secret, name
):
    (media_root / "videos" / "escape.mp4").symlink_to(secret)
    name = name.format(secret=secret, media_root=media_root)

    with pytest.raises(Http404):
        serve_file(rf.get("/"), media_root, name, VIDEO)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"range": "bytes=100000-"}, HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE),
        ({"if-match": STALE_ETAG}, HTTPStatus.PRECONDITION_FAILED),
    ],
)
def test_serve_file_gives_its_own_errors_the_error_policy(
    rf, media_root, video, headers, status
):
    request = rf.get("/", headers=headers)

    response = serve_file(request, media_root, VIDEO_NAME, VIDEO)

    assert response.status_code == status
    assert response["Cache-Control"] == ERROR.cache_control


@pytest.mark.usefixtures("quiet_request_finished")
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clip.webm", "video/webm"),
        ("CLIP.MP4", "video/mp4"),
        ("poster.png", "image/png"),
        ("poster.jpeg", "image/jpeg"),
        ("site.css", "text/css; charset=utf-8"),
        ("site.css.gz", "application/octet-stream"),
        ("notes.unknown-kind", "application/octet-stream"),
    ],
)
def test_serve_file_names_the_type_and_applies_the_given_policy(
    rf, tmp_path, name, expected
):
    write(tmp_path / name, b"body")

    response = serve_file(rf.get("/"), tmp_path, name, STATIC_UNHASHED)
    response.close()

    assert response["Content-Type"] == expected
    assert response["Cache-Control"] == STATIC_UNHASHED.cache_control


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_a_write_method_gets_405_naming_get_and_head(client, video, method):
    response = getattr(client, method)(VIDEO_URL)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD"
    assert response["Cache-Control"] == ERROR.cache_control


@pytest.mark.parametrize(
    ("headers", "blocks"),
    [({}, [65_536, 34_464]), ({"range": "bytes=1000-80999"}, [65_536, 14_464])],
)
def test_a_video_body_streams_in_blocks_of_64_kib(client, video, headers, blocks):
    response = client.get(VIDEO_URL, headers=headers)

    assert response.streaming is True
    assert [len(block) for block in response.streaming_content] == blocks


@pytest.mark.usefixtures("quiet_request_finished")
@pytest.mark.parametrize("blocks_read", [0, 1])
def test_the_file_closes_with_the_response_even_if_the_client_leaves(
    client, video, opened, blocks_read
):
    response = client.get(VIDEO_URL)
    body = iter(response.streaming_content)
    for _ in range(blocks_read):
        next(body)
    assert [file.closed for file in opened] == [False]

    response.close()

    assert [file.closed for file in opened] == [True]
