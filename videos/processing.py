"""Turning a direct upload into a stored, content-named video.

``store`` does the S3 work on one staged object and touches no database, so
it can be measured alone. ``process_upload`` wraps it with the Upload row's
state, and ``handle_s3_event`` is the same thing as an S3-triggered function:
an event in, no request around it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from videos import containers, files, s3

logger = logging.getLogger(__name__)

# Each read is hashed and dropped: memory holds one chunk, whatever the size.
READ_CHUNK = 64 * 1024


class Refused(Exception):
    """The upload is not something the site will store; the message says why."""


@dataclass(frozen=True)
class Stored:
    name: str
    sha256: str
    size: int
    duration: timedelta | None


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise Refused(
            f"A video may be at most {filesizeformat(limit)}; "
            f"this one is {filesizeformat(size)}."
        )
    if size == 0:
        raise Refused("The file is empty.")


def sniff(client, bucket: str, key: str, size: int) -> str:
    """The extension the object's first bytes prove, or Refused."""
    try:
        return containers.sniff(s3.RangeReader(client, bucket, key, size, 4096))
    except containers.NotAVideo as error:
        raise Refused(str(error)) from None


def store(client, bucket: str, key: str, *, max_bytes: int, metadata) -> Stored:
    """Check a staged object, copy it to its content-hashed name, drop the stage.

    ``metadata`` maps the final name to the object's Cache-Control and
    Content-Type. On any failure the staged object and anything this call
    created are deleted, and the error is raised again.
    """
    created = None
    try:
        # 1. Only sizes and types we accept, judged by bytes, not by claims.
        size = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        check_size(size, max_bytes)
        extension = sniff(client, bucket, key, size)

        # 2. Hash the whole object as one stream: memory stays one chunk.
        hasher = hashlib.sha256()
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        for chunk in body.iter_chunks(READ_CHUNK):
            hasher.update(chunk)
        digest = hasher.hexdigest()
        duration = containers.duration(
            s3.RangeReader(client, bucket, key, size), extension
        )

        # 3. Same bytes, same name: a copy already stored is reused.
        name = files.video_name(digest, extension)
        if not s3.exists(client, bucket, name):
            s3.copy(client, bucket, key, name, size, metadata(name))
            created = name
        s3.delete_every_version(client, bucket, key)
    except Exception:
        _clean_up(client, bucket, key, created)
        raise
    return Stored(name=name, sha256=digest, size=size, duration=duration)


def _clean_up(client, bucket: str, key: str, created: str | None) -> None:
    for leftover in (key, created):
        if leftover is None:
            continue
        try:
            s3.delete_every_version(client, bucket, leftover)
        except Exception:
            # S3 itself may be what failed; the bucket's lifecycle rule
            # expires staged objects after a day (manage.py s3setup).
            logger.warning("Could not delete %s from %s", leftover, bucket)


def process_upload(upload_id) -> None:
    """Process one staged upload and record the outcome on it and its video."""
    from botocore.exceptions import BotoCoreError, ClientError

    from videos.models import State, Upload

    claimed = Upload.objects.filter(pk=upload_id, state=State.PROCESSING)
    upload = claimed.first()
    if upload is None:
        # S3 may deliver an event twice; a finished upload stays finished.
        return

    storage = files.video_storage()
    try:
        stored = store(
            s3.client_for(storage),
            storage.bucket_name,
            upload.key,
            max_bytes=settings.HITRATE_VIDEO_MAX_BYTES,
            metadata=storage.metadata_for,
        )
    except Refused as error:
        finish(upload.pk, failure=str(error))
    except (BotoCoreError, ClientError) as error:
        logger.exception("Processing upload %s failed", upload.pk)
        finish(upload.pk, failure=f"S3 failed while processing the upload: {error}")
    else:
        finish(upload.pk, stored=stored)


def finish(upload_id, *, stored: Stored | None = None, failure: str = "") -> None:
    """Record a finished upload, and hand it to its video if it has one."""
    from videos.models import State, Upload, Video

    with transaction.atomic():
        upload = Upload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.state != State.PROCESSING:
            # Another delivery of the same event finished first, or, in event
            # mode, the browser's "complete" call refused the same bytes and
            # deleted the upload while this ran.
            return
        upload.finished_at = timezone.now()
        if stored is None:
            upload.state, upload.failure = State.FAILED, failure
        else:
            upload.state = State.READY
            upload.stored_name, upload.sha256 = stored.name, stored.sha256
            upload.size, upload.duration = stored.size, stored.duration
        upload.save()

        video = Video.objects.select_for_update().filter(upload=upload).first()
        if video is not None:
            video.take_upload(upload)
            video.save()


def handle_s3_event(event: dict, context=None) -> None:
    """The S3-triggered entry point: process every staged object named."""
    from videos.models import State, Upload

    for record in event.get("Records", []):
        key = unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith(files.STAGING_PREFIX):
            continue
        # An event can arrive before the browser's "complete" call has
        # recorded it; the object's existence is proof enough.
        Upload.objects.filter(key=key, state=State.UPLOADING).update(
            state=State.PROCESSING
        )
        upload = Upload.objects.filter(key=key).first()
        if upload is None:
            logger.warning("S3 event for %s, which no upload started", key)
            continue
        process_upload(upload.pk)
