"""What viewers do with videos: the signals recommendations are built from."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, Q, Subquery
from django.db.models.functions import Coalesce
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


class RecommendationListQuerySet(models.QuerySet):
    def popular(self) -> dict | None:
        """The popular list's payload and computed_at, or None before a refresh."""
        return self.filter(video=None).values("payload", "computed_at").first()

    def for_video(self, slug: str) -> dict | None:
        """A published video's list, else the popular one, in one query.

        None when no published video has the slug. A video published after
        the last refresh has no list of its own and gets the popular one;
        before any refresh both values are None.
        """
        from videos.models import Video

        popular = self.filter(video=None)
        return (
            Video.objects.published()
            .filter(slug=slug)
            .values(
                payload=Coalesce(
                    "recommendation_list__payload",
                    Subquery(popular.values("payload")[:1]),
                ),
                computed_at=Coalesce(
                    "recommendation_list__computed_at",
                    Subquery(popular.values("computed_at")[:1]),
                ),
            )
            .first()
        )


class RecommendationList(models.Model):
    """A list computed ahead of time, stored as the exact JSON the API sends."""

    # Null for the "popular now" list; otherwise the video the list is for.
    video = models.OneToOneField(
        "videos.Video",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="recommendation_list",
    )
    payload = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    objects = RecommendationListQuerySet.as_manager()

    class Meta:
        constraints = [
            # NULLs never collide in a unique index, so the single popular
            # list needs a rule of its own: an index over "video is null",
            # limited to those rows.
            models.UniqueConstraint(
                ExpressionWrapper(Q(video=None), output_field=models.BooleanField()),
                condition=Q(video=None),
                name="one_popular_recommendation_list",
            )
        ]

    def __str__(self) -> str:
        return f"Recommendations for {self.video or 'everyone'}"
