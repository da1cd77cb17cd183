"""Where video and thumbnail files live, and under which names.

A video is stored as ``videos/video-<sha256>.<ext>``: its URL changes exactly
when its bytes do, which is what lets it be cached for a year as immutable.
A thumbnail is stored as ``thumbnails/<video id>.jpg`` and written over in
place, so its URL never changes and caches must expire it.
"""

from __future__ import annotations

import hashlib

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

CHUNK_SIZE = 1024 * 1024
# Where direct uploads land before processing gives them their real name.
STAGING_PREFIX = "staging/"


class _KindStorage(LazyObject):
    """The storage configured for one kind, looked up when first used.

    A FileField keeps the storage object it was given when models load; this
    stand-in lets it follow STORAGES when tests change it.
    """

    def __init__(self, alias: str):
        self.__dict__["_alias"] = alias
        super().__init__()

    def _setup(self):
        self._wrapped = storages[self.__dict__["_alias"]]


_videos = _KindStorage("videos")
_thumbnails = _KindStorage("thumbnails")


@receiver(setting_changed)
def _forget_storages(setting, **kwargs):
    if setting == "STORAGES":
        _videos._wrapped = empty
        _thumbnails._wrapped = empty


def video_storage():
    return _videos


def thumbnail_storage():
    return _thumbnails


def is_s3(storage) -> bool:
    """Is this storage (or the one behind a stand-in) an S3 bucket?"""
    return hasattr(storage, "bucket_name")


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
