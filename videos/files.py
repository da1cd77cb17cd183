"""Where video and thumbnail files live, and under which names.

A video is stored as ``videos/video-<sha256>.<ext>``: its URL changes exactly
when its bytes do, which is what lets it be cached for a year as immutable.
A thumbnail is stored as ``thumbnails/<video id>.jpg`` and written over in
place, so its URL never changes and caches must expire it.
"""

from __future__ import annotations

import hashlib

from django.core.files.storage import storages

CHUNK_SIZE = 1024 * 1024


def video_storage():
    return storages["videos"]


def thumbnail_storage():
    return storages["thumbnails"]


def content_hash(content) -> str:
    """SHA-256 of a file, as computed while it streamed in, or chunk by chunk."""
    digest = getattr(content, "sha256", None)
    if digest:
        return digest
    hasher = hashlib.sha256()
    content.seek(0)
    for chunk in content.chunks(CHUNK_SIZE):
        hasher.update(chunk)
    content.seek(0)
    return hasher.hexdigest()


def video_name(digest: str, extension: str) -> str:
    return f"videos/video-{digest}{extension}"


def thumbnail_name(video_id) -> str:
    return f"thumbnails/{video_id}.jpg"


def upload_thumbnail_to(instance, filename: str) -> str:
    return thumbnail_name(instance.pk)


def delete_unused_video(name: str) -> None:
    """Delete a stored video file once no video refers to it any more."""
    from videos.models import Video

    if name and not Video.objects.filter(file=name).exists():
        video_storage().delete(name)
