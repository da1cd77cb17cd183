from __future__ import annotations

import uuid

from django.db import connections, models, transaction
from django.urls import reverse
from django.utils import timezone

from videos import containers, files, thumbnails


class VideoQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True, published_at__lte=timezone.now())

    def comments_state(self, slug: str) -> tuple[uuid.UUID, int, int] | None:
        """(id, comments_version, comments_count) of a published video, or None.

        Every open video page polls its comments, and most polls end in a 304
        decided by this row alone. Building the query through the ORM costs
        ten times what running it does (0.9 ms against 0.09 ms, measured
        with bench/api_latency.py's data), so it is written out once here.
        """
        meta = self.model._meta
        connection = connections[self.db]
        name = {
            field.name: connection.ops.quote_name(field.column)
            for field in meta.concrete_fields
        }
        table = connection.ops.quote_name(meta.db_table)
        # Only the model's own quoted names go into the text; values are
        # parameters.
        columns = f"{name['id']}, {name['comments_version']}, {name['comments_count']}"
        where = f"{name['slug']} = %s AND {name['is_published']}"
        sql = f"SELECT {columns} FROM {table} WHERE {where}"  # noqa: S608
        sql += f" AND {name['published_at']} <= %s"
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [slug, now])
            row = cursor.fetchone()
        if row is None:
            return None
        return meta.pk.to_python(row[0]), row[1], row[2]


class Video(models.Model):
    # A UUID is known before the row exists, so the thumbnail's stable name
    # can be chosen on the first save.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    file = models.FileField(
        "video file",
        storage=files.video_storage,
        upload_to="videos",
        max_length=255,
        help_text="MP4 (H.264) or WebM. Stored under a name made of its SHA-256.",
    )
    sha256 = models.CharField(max_length=64, editable=False, db_index=True)
    size = models.PositiveBigIntegerField("size in bytes", default=0, editable=False)
    duration = models.DurationField(null=True, blank=True, editable=False)
    thumbnail = models.FileField(
        storage=files.thumbnail_storage,
        upload_to=files.upload_thumbnail_to,
        max_length=255,
        blank=True,
        help_text="Any image; stored as a JPEG at a URL that never changes.",
    )
    # Bumped by every change to this video's comments: the comments list's
    # ETag is built from it, so deciding a 304 costs one small query.
    comments_version = models.PositiveBigIntegerField(default=0, editable=False)
    # Kept with the version, so a page of comments needs no COUNT over them.
    comments_count = models.PositiveIntegerField(default=0, editable=False)
    is_published = models.BooleanField("published", default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VideoQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        indexes = [models.Index(fields=["is_published", "-published_at"])]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        stored_before = getattr(self, "_stored_file", None)
        if self.is_published and not self.published_at:
            self.published_at = timezone.now()
        if self.file and not self.file._committed:
            self._store_video()
        if self.thumbnail and not self.thumbnail._committed:
            self._store_thumbnail()
        try:
            # A savepoint, so that after a failed insert the transaction can
            # still ask whether the new file is used elsewhere.
            with transaction.atomic():
                super().save(*args, **kwargs)
        except Exception:
            # The row was not written: take back a file no row points to.
            if self.file.name != stored_before:
                files.delete_unused_video(self.file.name)
            raise

        stored_now = self.file.name
        self._stored_file = stored_now
        if stored_before and stored_before != stored_now:
            transaction.on_commit(lambda: files.delete_unused_video(stored_before))

    def get_absolute_url(self) -> str:
        return reverse("videos:detail", args=[self.slug])

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_file = instance.__dict__.get("file")
        return instance

    @property
    def duration_label(self) -> str:
        """Play time as a player shows it: 4:05, or 1:02:03 past an hour."""
        if self.duration is None:
            return ""
        minutes, seconds = divmod(round(self.duration.total_seconds()), 60)
        hours, minutes = divmod(minutes, 60)
        if hours:
            return f"{hours}:{minutes:02}:{seconds:02}"
        return f"{minutes}:{seconds:02}"

    def publish(self) -> None:
        self.is_published = True

    def unpublish(self) -> None:
        self.is_published = False

    def _store_video(self) -> None:
        content = self.file.file
        extension = containers.sniff(content)
        self.sha256 = files.content_hash(content)
        self.size = content.size
        self.duration = containers.duration(content, extension)

        name = files.video_name(self.sha256, extension)
        if self.file.storage.exists(name):
            # The same bytes are already stored: same name, nothing to write.
            self.file = name
        else:
            self.file.save(name.removeprefix("videos/"), content, save=False)

    def _store_thumbnail(self) -> None:
        jpeg = thumbnails.to_jpeg(self.thumbnail.file)
        self.thumbnail.save("thumbnail.jpg", jpeg, save=False)
