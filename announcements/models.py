from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class AnnouncementQuerySet(models.QuerySet):
    def live(self, at=None):
        """Announcements inside their publish window at the given moment."""
        at = at or timezone.now()
        return self.filter(starts_at__lte=at).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=at)
        )


class Announcement(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    body = models.TextField()
    starts_at = models.DateTimeField(
        "shown from", default=timezone.now, help_text="Hidden before this moment."
    )
    ends_at = models.DateTimeField(
        "shown until", null=True, blank=True, help_text="Empty: shown for good."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="announcement_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def is_live(self, at=None) -> bool:
        at = at or timezone.now()
        return self.starts_at <= at and (self.ends_at is None or self.ends_at > at)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must come after the start."})
