from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.validators import MinLengthValidator
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from videos.models import Video

MAX_LENGTH = 2000


def touch_videos(video_ids: Iterable) -> None:
    """Bump the comments_version of these videos, changing their lists' ETags,
    and recount their shown comments.

    An F() expression, so that concurrent writers never lose a bump; the
    count is taken inside the same UPDATE, so writes pay for it and reads of
    the list do not.
    """
    shown = (
        Comment.objects.visible()
        .filter(video=models.OuterRef("pk"))
        .order_by()
        .values("video")
        .annotate(n=models.Count("pk"))
        .values("n")
    )
    with transaction.atomic():
        # Lock the rows first, in a fixed order: a concurrent writer's UPDATE
        # then waits until this one commits and counts its comment too. An
        # UPDATE alone would count from the snapshot it started with.
        videos = Video.objects.filter(pk__in=list(video_ids))
        list(videos.select_for_update().order_by("pk").values_list("pk", flat=True))
        videos.update(
            comments_version=models.F("comments_version") + 1,
            comments_count=Coalesce(models.Subquery(shown), 0),
        )


class CommentQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(is_hidden=False)

    def public(self):
        """Visible comments on published videos: what the API may show."""
        return self.visible().filter(
            video__is_published=True, video__published_at__lte=timezone.now()
        )

    def set_hidden(self, hidden: bool) -> int:
        """Hide or show these comments; the lists they are on change ETag.

        ``update`` sends no signal, so the bump is made here.
        """
        changing = self.exclude(is_hidden=hidden)
        with transaction.atomic():
            # Read the videos before the update: a queryset filtered on
            # is_hidden would find nothing afterwards.
            video_ids = list(changing.order_by().values_list("video_id", flat=True))
            count = changing.update(is_hidden=hidden)
            touch_videos(video_ids)
        return count


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
        # The list's order, whole: a page is then read straight off the index
        # instead of sorting every comment of a popular video.
        indexes = [
            models.Index(
                fields=["video", "-created_at", "-id"], name="comment_list_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.author} on {self.video}: {self.body[:40]}"

    def save(self, *args, **kwargs):
        # Whoever saves a comment (the API, the admin, the demo loader), the
        # video's list must change its ETag and count in the same transaction.
        with transaction.atomic():
            super().save(*args, **kwargs)
            touch_videos([self.video_id])

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            touch_videos([self.video_id])
        return result

    @property
    def etag(self) -> str:
        """A strong entity tag (RFC 9110 section 8.8.3) naming this version."""
        return f'"{self.pk}.{self.version}"'

    @property
    def edited(self) -> bool:
        return self.version > 1

    @classmethod
    def post(cls, video_id, author, body: str) -> Comment:
        """A new comment; the video's list changes ETag in the same transaction."""
        return cls.objects.create(video_id=video_id, author=author, body=body)

    def revise(self, body: str) -> bool:
        """Replace the body if the row still holds the version read; or False.

        The version check and the write are one UPDATE, so of two writers
        holding the same version exactly one changes the row.
        """
        now = timezone.now()
        with transaction.atomic():
            changed = (
                Comment.objects.visible()
                .filter(pk=self.pk, version=self.version)
                .update(body=body, version=models.F("version") + 1, updated_at=now)
            )
            if changed:
                touch_videos([self.video_id])
        if changed:
            self.body, self.version, self.updated_at = body, self.version + 1, now
        return bool(changed)

    def withdraw(self) -> bool:
        """Delete the comment if the row still holds the version read; or False."""
        with transaction.atomic():
            deleted, _ = (
                Comment.objects.visible()
                .filter(pk=self.pk, version=self.version)
                .delete()
            )
            if deleted:
                touch_videos([self.video_id])
        return bool(deleted)
