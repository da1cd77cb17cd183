"""Deleting a video's files once its row is gone for good."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from videos import files
from videos.models import Video


@receiver(post_delete, sender=Video)
def delete_files(sender, instance: Video, **kwargs) -> None:
    video, thumbnail = instance.file.name, instance.thumbnail.name

    def delete() -> None:
        files.delete_unused_video(video)
        if thumbnail:
            files.thumbnail_storage().delete(thumbnail)

    transaction.on_commit(delete)
