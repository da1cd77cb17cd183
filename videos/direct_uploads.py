"""Uploading a video from the browser straight to S3, in presigned parts.

API Gateway stops request bodies at 10 MB and Lambda at 6 MB, so a video
never passes through the app: the app opens a multipart upload, signs a URL
for each part, and checks the result when the browser says it is done.

S3 enforces none of our limits on a presigned part (and moto enforces no
condition at all), so every limit is checked here: the declared size and
type before anything is signed, the parts' real sizes before the object is
assembled, and the first bytes once it is.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from videos import files, processing, s3
from videos.models import State, Upload

VIDEO_TYPES = frozenset({"video/mp4", "video/webm"})
# Large enough that a 5 GB video is 640 requests, small enough that a
# failed part costs seconds to send again.
PART_SIZE = 8 * 1024**2
# How long a signed part URL works: one part on a slow line, with margin.
URL_LIFETIME = 3600
_REFERENCE_SALT = "videos.direct_uploads.reference"
# How long a processed upload may wait for its admin form to be saved.
REFERENCE_MAX_AGE = timedelta(days=1)


class UploadError(Exception):
    """A request the upload cannot follow; the message is for the staff."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def _storage():
    return files.video_storage()


def _client():
    return s3.client_for(_storage())


def start(user, filename: str, size: int, content_type: str) -> Upload:
    """Open a multipart upload for a file the browser describes."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise UploadError("size must be the file's length in bytes, at least 1.")
    try:
        processing.check_size(size, settings.HITRATE_VIDEO_MAX_BYTES)
    except processing.Refused as error:
        raise UploadError(str(error)) from None
    if content_type not in VIDEO_TYPES:
        shown = content_type or "of no declared type"
        raise UploadError(
            f"Only MP4 and WebM videos can be uploaded; this file is {shown}."
        )

    storage = _storage()
    upload_id = uuid.uuid4()
    key = f"{files.STAGING_PREFIX}{upload_id}"
    answer = _client().create_multipart_upload(
        Bucket=storage.bucket_name, Key=key, ContentType=content_type
    )
    return Upload.objects.create(
        id=upload_id,
        key=key,
        multipart_id=answer["UploadId"],
        filename=filename[:255],
        declared_size=size,
        content_type=content_type,
        part_size=s3.part_size_for(size, PART_SIZE),
        created_by=user,
    )


def part_urls(upload: Upload, numbers: list) -> dict[str, str]:
    """A presigned PUT URL for each requested part number."""
    _require(upload, State.UPLOADING)
    valid = range(1, upload.part_count + 1)
    wrong = [n for n in numbers if not isinstance(n, int) or n not in valid]
    if wrong or not numbers:
        raise UploadError(
            f"Part numbers run from 1 to {upload.part_count}; got {wrong or 'none'}."
        )
    client, bucket = _client(), _storage().bucket_name
    return {
        str(number): client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": bucket,
                "Key": upload.key,
                "UploadId": upload.multipart_id,
                "PartNumber": number,
            },
            ExpiresIn=URL_LIFETIME,
        )
        for number in numbers
    }


def received_parts(upload: Upload) -> list[dict]:
    """The parts S3 holds so far, as S3 lists them."""
    if upload.state != State.UPLOADING:
        return []
    client, bucket = _client(), _storage().bucket_name
    pages = client.get_paginator("list_parts").paginate(
        Bucket=bucket, Key=upload.key, UploadId=upload.multipart_id
    )
    return [part for page in pages for part in page.get("Parts", [])]


def complete(upload: Upload) -> Upload:
    """Assemble the parts, check the result, and process it or hand it on."""
    _require(upload, State.UPLOADING)
    parts = received_parts(upload)
    client, bucket = _client(), _storage().bucket_name

    # 1. Every part present, and together exactly the declared size: what
    #    was signed for is what was sent.
    have = {part["PartNumber"] for part in parts}
    missing = [n for n in range(1, upload.part_count + 1) if n not in have]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + ("…" if len(missing) > 10 else "")
        raise UploadError(f"Part(s) {shown} have not arrived yet.", status=409)
    received = sum(part["Size"] for part in parts)
    if received != upload.declared_size:
        refuse(
            upload,
            f"{filesizeformat(received)} arrived for a file declared as "
            f"{filesizeformat(upload.declared_size)}.",
        )

    # 2. Assemble, then judge the bytes themselves.
    client.complete_multipart_upload(
        Bucket=bucket,
        Key=upload.key,
        UploadId=upload.multipart_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                for p in sorted(parts, key=lambda p: p["PartNumber"])
            ]
        },
    )
    try:
        processing.sniff(client, bucket, upload.key, received)
    except processing.Refused as error:
        refuse(upload, str(error), assembled=True)

    # 3. The S3 event may already have moved it on; only move it from here.
    Upload.objects.filter(pk=upload.pk, state=State.UPLOADING).update(
        state=State.PROCESSING
    )
    if settings.HITRATE_UPLOAD_PROCESSING == "inline":
        processing.process_upload(upload.pk)
    upload.refresh_from_db()
    return upload


def refuse(upload: Upload, message: str, *, assembled: bool = False) -> None:
    """Throw an upload away, with its bytes and its row, and say why."""
    abort(upload, assembled=assembled)
    raise UploadError(message)


def abort(upload: Upload, *, assembled: bool = False) -> None:
    """Stop an upload and leave nothing of it in S3 or the database."""
    from botocore.exceptions import ClientError

    client, bucket = _client(), _storage().bucket_name
    if not assembled and upload.state == State.UPLOADING:
        try:
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload.key, UploadId=upload.multipart_id
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchUpload":
                raise
    s3.delete_every_version(client, bucket, upload.key)
    upload.delete()


def reference(upload: Upload) -> str:
    """What the admin form posts to name an upload: signed, so not guessable."""
    return signing.dumps(str(upload.pk), salt=_REFERENCE_SALT)


def from_reference(value: str) -> Upload:
    try:
        upload_id = signing.loads(
            value, salt=_REFERENCE_SALT, max_age=REFERENCE_MAX_AGE
        )
    except signing.BadSignature:
        raise UploadError("The upload reference is not valid; upload again.") from None
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None:
        raise UploadError("That upload no longer exists; upload the file again.")
    return upload


def attach(video, upload: Upload) -> None:
    """Give a video the upload, under the lock processing takes to finish."""
    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(pk=upload.pk)
        video.take_upload(locked)
        video.save()


def _require(upload: Upload, state: str) -> None:
    if upload.state != state:
        raise UploadError(
            f"This upload is {upload.get_state_display()}, not {State(state).label}.",
            status=409,
        )
