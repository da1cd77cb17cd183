"""The S3 operations the upload pipeline needs beyond django-storages.

Every function takes a boto3 client, so the same code runs in a request, in
the S3-triggered function and in the benchmarks. Objects are streamed or
read by range, never held whole in memory.
"""

from __future__ import annotations

import io
import math

# S3's limits (docs: "Amazon S3 multipart upload limits").
MIN_PART_SIZE = 5 * 1024**2
MAX_PARTS = 10_000
# CopyObject copies at most 5 GB in one call; larger objects are copied in
# parts with UploadPartCopy.
MAX_COPY_SIZE = 5 * 1024**3
COPY_PART_SIZE = 512 * 1024**2


def client_for(storage):
    """The boto3 client behind a django-storages S3 storage."""
    return storage.connection.meta.client


def part_size_for(size: int, preferred: int) -> int:
    """A part size that keeps an upload of ``size`` bytes within 10,000 parts."""
    smallest = math.ceil(size / MAX_PARTS)
    mebibyte = 1024**2
    return max(preferred, MIN_PART_SIZE, math.ceil(smallest / mebibyte) * mebibyte)


def delete_every_version(client, bucket: str, key: str) -> None:
    """Delete an object for good, with every version and delete marker.

    In a versioned bucket a plain DeleteObject only hides the object behind
    a marker; its bytes would stay, and be billed, for ever.
    """
    pages = client.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=key
    )
    for page in pages:
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            if entry["Key"] == key:
                client.delete_object(
                    Bucket=bucket, Key=key, VersionId=entry["VersionId"]
                )


def exists(client, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def copy(
    client,
    bucket: str,
    source: str,
    target: str,
    size: int,
    metadata: dict[str, str],
    *,
    max_single: int = MAX_COPY_SIZE,
    part_size: int = COPY_PART_SIZE,
) -> None:
    """Copy an object inside S3, replacing its metadata; no byte passes here."""
    if size <= max_single:
        client.copy_object(
            Bucket=bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": source},
            MetadataDirective="REPLACE",
            **metadata,
        )
        return

    upload = client.create_multipart_upload(Bucket=bucket, Key=target, **metadata)
    upload_id = upload["UploadId"]
    try:
        parts = []
        for number, start in enumerate(range(0, size, part_size), start=1):
            end = min(start + part_size, size) - 1
            answer = client.upload_part_copy(
                Bucket=bucket,
                Key=target,
                UploadId=upload_id,
                PartNumber=number,
                CopySource={"Bucket": bucket, "Key": source},
                CopySourceRange=f"bytes={start}-{end}",
            )
            etag = answer["CopyPartResult"]["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=target,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
    except Exception:
        client.abort_multipart_upload(Bucket=bucket, Key=target, UploadId=upload_id)
        raise


class RangeReader(io.RawIOBase):
    """A read-only, seekable view of an S3 object, fetched by byte ranges.

    Reading a container header means a few small reads far apart; each one
    costs a ranged GET of at least ``block`` bytes, and the last block is
    kept, so neighbouring reads cost nothing.
    """

    def __init__(self, client, bucket: str, key: str, size: int, block: int = 65536):
        self.client, self.bucket, self.key = client, bucket, key
        self.size = size
        self.block = block
        self.position = 0
        self.requests = 0
        self._cached_at = -1
        self._cached = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}
        self.position = max(0, base[whence] + offset)
        return self.position

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self.size - self.position
        size = min(size, self.size - self.position)
        if size <= 0:
            return b""
        start, end = self.position, self.position + size
        cached_end = self._cached_at + len(self._cached)
        if not (self._cached_at <= start and end <= cached_end):
            self._fetch(start, max(end, start + self.block))
        offset = start - self._cached_at
        data = self._cached[offset : offset + size]
        self.position += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _fetch(self, start: int, end: int) -> None:
        end = min(end, self.size)
        answer = self.client.get_object(
            Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end - 1}"
        )
        self.requests += 1
        self._cached = answer["Body"].read()
        self._cached_at = start
