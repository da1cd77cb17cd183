"""What viewers do with videos: the signals recommendations are built from."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class Favorite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorites"
    )
    video = models.ForeignKey(
        "videos.Video", on_delete=models.CASCADE, related_name="favorites"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "video"], name="one_favorite_per_user_and_video"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} likes {self.video}"


class WatchHistory(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="history"
    )
    video = models.ForeignKey(
        "videos.Video", on_delete=models.CASCADE, related_name="history"
    )
    position = models.DurationField(
        "last position", default=datetime.timedelta, help_text="Where to resume."
    )
    watched_at = models.DateTimeField("last watched", default=timezone.now)

    class Meta:
        verbose_name_plural = "watch history"
        ordering = ["-watched_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "video"], name="one_history_entry_per_user_and_video"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} watched {self.video}"
