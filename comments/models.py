from __future__ import annotations

from django.conf import settings
from django.core.validators import MinLengthValidator
from django.db import models

MAX_LENGTH = 2000


class CommentQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(is_hidden=False)


class Comment(models.Model):
    video = models.ForeignKey(
        "videos.Video", on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField(max_length=MAX_LENGTH, validators=[MinLengthValidator(1)])
    is_hidden = models.BooleanField(
        "hidden", default=False, help_text="Hidden comments are kept but not shown."
    )
    # Bumped by every edit: the comment's ETag, so that an update carrying
    # If-Match wins only if nobody changed the comment since it was read.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["video", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.author} on {self.video}: {self.body[:40]}"
