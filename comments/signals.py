"""Changes to comments made outside this app, seen through signals."""

from __future__ import annotations

from comments.models import Comment, touch_videos


def author_deleting(sender, instance, **kwargs) -> None:
    """Note the videos a user commented on before the cascade deletes the
    comments, which bumps nothing by itself."""
    instance.commented_video_ids = set(
        Comment.objects.filter(author=instance).values_list("video_id", flat=True)
    )


def author_deleted(sender, instance, **kwargs) -> None:
    """Once the comments are gone, bump and recount those videos' lists, in
    the same transaction, so that they stop answering 304."""
    touch_videos(getattr(instance, "commented_video_ids", ()))
