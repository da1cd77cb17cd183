"""Serving stored files from disk with validators, conditions and byte ranges.

The media view uses it in filesystem mode, and config.views.static for
static files. Bodies stream in blocks, so a video is never held in memory,
and only single ranges are served (see videos.ranges).
"""

from __future__ import annotations

import mimetypes
import os
import stat
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.utils._os import safe_join
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from caching.decorators import cache_policy
from caching.headers import apply_policy
from caching.policies import ERROR, VIDEO, Policy, media_policy
from videos.ranges import ByteRange, RangeNotSatisfiable, if_range_passes, parse_range

BLOCK_SIZE = 64 * 1024

# Our own kinds first, so they never depend on the host's mime.types.
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}


@cache_policy(VIDEO)
@require_safe
def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """An uploaded file, under the policy its folder names."""
    policy = media_policy(path)
    if policy is None:
        raise Http404("No such kind of media.")
    if settings.HITRATE_MEDIA_STORAGE != "filesystem":
        # In S3 mode media URLs point at the bucket or the CDN, never here.
        raise Http404("Media are served from S3.")
    return serve_file(request, Path(settings.MEDIA_ROOT), path, policy)


def serve_file(
    request: HttpRequest, root: Path, name: str, policy: Policy
) -> HttpResponseBase:
    """The file name under root, honouring conditions and a byte range.

    HEAD is answered from the file's metadata without opening it. For GET
    the file is opened first and its open handle described, so the
    validators sent match the bytes sent even if the file is replaced
    meanwhile.
    """
    path, stats = _regular_file(root, name)
    headers = {"Content-Type": content_type(name), "Accept-Ranges": "bytes"}
    if request.method == "HEAD":
        return _respond(request, headers, stats, policy, None)

    try:
        file = path.open("rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    response = None
    try:
        stats = os.fstat(file.fileno())
        response = _respond(request, headers, stats, policy, file)
    finally:
        # A streaming response closes the file when it is closed itself.
        if response is None or not response.streaming:
            file.close()
    return response


def _regular_file(root: Path, name: str) -> tuple[Path, os.stat_result]:
    """The regular file at name under root, or 404 for anything else."""
    # A NUL byte cannot reach the file system; an absolute name would make
    # safe_join ignore root, so both are refused before any join.
    if "\0" in name or os.path.isabs(name):
        raise Http404("No such file.")
    try:
        path = Path(safe_join(root, name))
    except SuspiciousFileOperation:
        raise Http404("No such file.") from None
    # safe_join reads the spelling of the path; a symlink inside root may
    # still lead outside it.
    path = path.resolve()
    if not path.is_relative_to(Path(root).resolve()):
        raise Http404("No such file.")
    try:
        stats = path.stat()
    except OSError:
        # Missing, a file where a folder should be, a name too long.
        raise Http404("No such file.") from None
    if not stat.S_ISREG(stats.st_mode):
        raise Http404("No such file.")
    return path, stats


def _respond(
    request: HttpRequest,
    headers: dict[str, str],
    stats: os.stat_result,
    policy: Policy,
    file: BinaryIO | None,
) -> HttpResponseBase:
    """Steps of RFC 9110 section 13.2.2, then the body; no file for HEAD."""
    etag, last_modified = _etag(stats), int(stats.st_mtime)
    headers = {**headers, "ETag": etag, "Last-Modified": http_date(last_modified)}

    # Steps 1 to 4: If-Match and If-Unmodified-Since, then If-None-Match and
    # If-Modified-Since. A 304 repeats the 200's validators and policy
    # (section 15.4.5), so they are put on a response it can copy from.
    full = apply_policy(HttpResponse(headers=headers), policy)
    answer = get_conditional_response(request, etag, last_modified, full)
    if answer is not full:
        return _precondition_answer(answer, policy, stats.st_size)

    # Step 5: If-Range, then Range.
    try:
        byte_range = _requested_range(request, etag, last_modified, stats.st_size)
    except RangeNotSatisfiable as error:
        return _not_satisfiable(error)

    # Step 6: the whole file or the range.
    if byte_range is None:
        response = _body(file, 0, stats.st_size, 200, headers)
    else:
        headers["Content-Range"] = byte_range.content_range
        response = _body(file, byte_range.start, byte_range.length, 206, headers)
    return apply_policy(response, policy)


def _precondition_answer(
    answer: HttpResponseBase, policy: Policy, size: int
) -> HttpResponseBase:
    """The policy on a 304, the ERROR one on a 412."""
    if answer.status_code != 304:
        return apply_policy(answer, ERROR)
    # CommonMiddleware would add "Content-Length: 0", which RFC 9110 section
    # 8.6 forbids on a 304; the length a 200 would have is allowed.
    answer["Content-Length"] = str(size)
    return apply_policy(answer, policy)


def _etag(stats: os.stat_result) -> str:
    """A strong ETag from size and modification time, without reading a byte.

    Replacing a thumbnail changes its mtime, so its ETag changes with it.
    A same-size rewrite within one tick of the file system's clock would
    keep the old tag: milliseconds that staff replacing an image never hit.
    """
    return f'"{stats.st_size:x}-{stats.st_mtime_ns:x}"'


def content_type(name: str) -> str:
    """The Content-Type for a file name; octet-stream when unknown."""
    suffix = Path(name).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, encoding = mimetypes.guess_type(name)
    if guessed is None or encoding is not None:
        # A compressed file is not its inner type without Content-Encoding.
        return "application/octet-stream"
    if guessed.startswith("text/"):
        return f"{guessed}; charset=utf-8"
    return guessed


def _requested_range(
    request: HttpRequest, etag: str, last_modified: int, size: int
) -> ByteRange | None:
    """The range to send, None for the whole file; may raise RangeNotSatisfiable."""
    # Range is defined for GET alone (RFC 9110 section 14.2), and If-Range
    # only matters alongside it (section 13.1.5).
    value = request.headers.get("Range")
    if request.method != "GET" or value is None:
        return None
    if not if_range_passes(request.headers.get("If-Range"), etag, last_modified):
        return None
    return parse_range(value, size)


def _not_satisfiable(error: RangeNotSatisfiable) -> HttpResponse:
    # The size in Content-Range lets the client ask again (section 15.5.17).
    response = HttpResponse(status=416, headers={"Content-Range": error.content_range})
    return apply_policy(response, ERROR)


def _body(
    file: BinaryIO | None,
    start: int,
    length: int,
    status: int,
    headers: dict[str, str],
) -> HttpResponseBase:
    headers = {**headers, "Content-Length": str(length)}
    if file is None:
        return HttpResponse(status=status, headers=headers)
    file.seek(start)
    return StreamingHttpResponse(_Blocks(file, length), status=status, headers=headers)


class _Blocks:
    """Up to length bytes of an open file, in blocks, from where it stands.

    StreamingHttpResponse calls close() when it is closed, which the server
    does even when the client leaves mid-way; a generator's finally clause
    would not run if the body was never started.
    """

    def __init__(self, file: BinaryIO, length: int):
        self.file = file
        self.length = length

    def __iter__(self):
        remaining = self.length
        while remaining > 0:
            block = self.file.read(min(BLOCK_SIZE, remaining))
            if not block:
                # The file shrank after it was opened; the short body
                # shows as a broken transfer rather than wrong bytes.
                return
            remaining -= len(block)
            yield block

    def close(self) -> None:
        self.file.close()
