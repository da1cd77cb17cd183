from __future__ import annotations

import uuid

from django.conf import settings
from django.db import connections, models, transaction
from django.urls import reverse
from django.utils import timezone

from videos import containers, files, thumbnails


class State(models.TextChoices):
    """Where a video's file is on its way from the staff's disk to viewers."""

    UPLOADING = "uploading", "uploading"
    PROCESSING = "processing", "processing"
    READY = "ready", "ready"
    FAILED = "failed", "failed"


class Upload(models.Model):
    """A video file sent straight from the admin to S3, and what became of it.

    The row exists from the first byte, so the S3-triggered processing can
    always find it, whether or not the admin form has been saved yet.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField("staging key", max_length=255, unique=True)
    multipart_id = models.CharField(max_length=1024, blank=True)
    filename = models.CharField(max_length=255)
    declared_size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    part_size = models.PositiveBigIntegerField()
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.UPLOADING
    )
    failure = models.TextField(blank=True)
    # What processing found and where it stored the file.
    stored_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    duration = models.DurationField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_state_display()})"

    @property
    def part_count(self) -> int:
        return max(1, -(-self.declared_size // self.part_size))


class VideoQuerySet(models.QuerySet):
    def published(self):
        return self.filter(
            is_published=True, published_at__lte=timezone.now(), state=State.READY
        )

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
        sql += f" AND {name['published_at']} <= %s AND {name['state']} = %s"
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [slug, now, State.READY])
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
        # Empty while a direct upload is processing.
        blank=True,
        help_text="MP4 (H.264) or WebM. Stored under a name made of its SHA-256.",
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.READY)
    # Why the last upload was refused, for the staff; empty when all is well.
    failure = models.TextField(blank=True, editable=False)
    # The direct upload that brought (or is bringing) the current file.
    upload = models.OneToOneField(
        Upload,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="video",
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

    def take_upload(self, upload: Upload) -> None:
        """Point this video at a direct upload and take whatever it has become.

        The caller holds the upload's row lock, so processing cannot finish
        between reading its state and saving it here.
        """
        self.upload = upload
        if upload.state == State.READY:
            self.file = upload.stored_name
            self.sha256 = upload.sha256
            self.size = upload.size
            self.duration = upload.duration
            self.state = State.READY
            self.failure = ""
        elif upload.state == State.FAILED:
            self.failure = upload.failure
            # A replacement that failed leaves the old file playing.
            self.state = State.READY if self.file else State.FAILED
        elif not self.file:
            self.state = State.PROCESSING

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
