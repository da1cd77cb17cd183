"""Stored objects measured against the policy table, and objects nothing uses.

CloudFront hands viewers the Cache-Control and Content-Type that S3 stored
with an object, so an object edited behind the site's back (a console
upload, a script, an old deploy) serves the wrong policy until someone
looks. ``audit`` looks; ``repair`` and ``delete`` act on what it found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.storage import storages
from django.utils import timezone

from videos import direct_uploads, files, s3

HEADERS = {"CacheControl": "Cache-Control", "ContentType": "Content-Type"}
# System metadata that MetadataDirective=REPLACE would drop, carried over
# so that a repair changes the two policy headers and nothing else.
KEPT = ("ContentDisposition", "ContentEncoding", "ContentLanguage", "StorageClass")
# list_objects_v2 answers at most 1,000 keys a page.
PAGE_SIZE = 1000
NO_MANIFEST = (
    "Static files not checked: no staticfiles manifest under STATIC_ROOT; "
    "run collectstatic first."
)


@dataclass(frozen=True)
class Area:
    """The objects of one kind: a storage and a folder of its names."""

    kind: str
    storage: object
    folder: str

    @property
    def bucket(self) -> str:
        return self.storage.bucket_name

    @property
    def location(self) -> str:
        return self.storage.location.strip("/")

    def key_for(self, name: str) -> str:
        return f"{self.location}/{name}" if self.location else name

    def name_for(self, key: str) -> str:
        return key.removeprefix(f"{self.location}/") if self.location else key


@dataclass(frozen=True)
class StoredObject:
    area: Area
    key: str
    size: int
    modified: datetime

    def __str__(self) -> str:
        return f"{self.area.bucket}/{self.key}"

    @property
    def name(self) -> str:
        return self.area.name_for(self.key)


@dataclass(frozen=True)
class Drift:
    """An object whose policy headers differ from what its name requires."""

    object: StoredObject
    head: dict
    wanted: dict[str, str]

    def lines(self) -> list[str]:
        found = []
        for header, label in HEADERS.items():
            actual, wanted = self.head.get(header), self.wanted[header]
            if actual == wanted:
                continue
            now = "missing" if actual is None else f'"{actual}"'
            found.append(f'{self.object}: {label} is {now}, must be "{wanted}"')
        return found


@dataclass(frozen=True)
class Unreferenced:
    object: StoredObject
    reason: str

    def __str__(self) -> str:
        return f"{self.object}: {self.reason}"


@dataclass
class Audit:
    checked: int = 0
    drifted: list[Drift] = field(default_factory=list)
    unreferenced: list[Unreferenced] = field(default_factory=list)
    # Kinds left unchecked, and why.
    skipped: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drifted and not self.unreferenced


def on_s3() -> bool:
    return files.is_s3(files.video_storage()) and files.is_s3(files.thumbnail_storage())


def areas() -> tuple[list[Area], list[str]]:
    """Every kind of stored object to check, and the kinds skipped with why."""
    videos = files.video_storage()
    found = [
        Area("videos", videos, "videos/"),
        Area("staging", videos, files.STAGING_PREFIX),
        Area("thumbnails", files.thumbnail_storage(), "thumbnails/"),
    ]
    static = storages["staticfiles"]
    if not files.is_s3(static):
        return found, []
    # Without the manifest every hashed name would look unhashed, and --fix
    # would take "immutable" off them all.
    if not static.hashed_files:
        return found, [NO_MANIFEST]
    return [*found, Area("static", static, "")], []


def listed(area: Area):
    """The area's objects, page by page; the listing is never held whole."""
    pages = (
        s3.client_for(area.storage)
        .get_paginator("list_objects_v2")
        .paginate(
            Bucket=area.bucket,
            Prefix=area.key_for(area.folder),
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
    )
    for page in pages:
        for entry in page.get("Contents", []):
            yield StoredObject(area, entry["Key"], entry["Size"], entry["LastModified"])


def drift(stored: StoredObject) -> Drift | None:
    """What is wrong with an object's policy headers, or None."""
    area = stored.area
    client = s3.client_for(area.storage)
    head = client.head_object(Bucket=area.bucket, Key=stored.key)
    wanted = area.storage.metadata_for(stored.name)
    if all(head.get(header) == value for header, value in wanted.items()):
        return None
    return Drift(stored, head, wanted)


def references() -> dict[str, tuple[set[str], str]]:
    """For each kind, the names something refers to and what that something is."""
    from videos.models import State, Upload, Video

    videos = set(Video.objects.exclude(file="").values_list("file", flat=True))
    # A processed upload waits for its admin form as long as the form's
    # reference to it is valid; after that its file has been abandoned.
    waiting = Upload.objects.filter(
        state=State.READY,
        video__isnull=True,
        finished_at__gte=timezone.now() - direct_uploads.REFERENCE_MAX_AGE,
    )
    videos |= set(waiting.values_list("stored_name", flat=True))
    thumbnails = Video.objects.exclude(thumbnail="").values_list("thumbnail", flat=True)
    unfinished = Upload.objects.filter(finished_at__isnull=True)
    return {
        "videos": (videos, "not referenced by any video"),
        "thumbnails": (set(thumbnails), "not referenced by any video"),
        "staging": (
            set(unfinished.values_list("key", flat=True)),
            "not referenced by any unfinished upload",
        ),
    }


def audit() -> Audit:
    """Check every stored object's headers and whether anything refers to it."""
    found, skipped = areas()
    result = Audit(skipped=skipped)
    referenced = references()
    for area in found:
        for stored in listed(area):
            result.checked += 1
            names, reason = referenced.get(area.kind, (None, ""))
            if names is not None and stored.name not in names:
                # Its headers matter no more: --fix deletes it.
                result.unreferenced.append(Unreferenced(stored, reason))
                continue
            # Staged objects are the browser's bytes, not yet under any policy.
            if area.kind != "staging":
                wrong = drift(stored)
                if wrong is not None:
                    result.drifted.append(wrong)
    return result


def repair(found: Drift) -> None:
    """Copy the object onto itself with the headers its name requires.

    The copy happens inside S3, so it works for any size (in parts above
    CopyObject's 5 GB limit). In a versioned bucket the old version stays as
    a noncurrent one until the lifecycle rule expires it.
    """
    stored, area = found.object, found.object.area
    metadata = {name: found.head[name] for name in KEPT if found.head.get(name)}
    if found.head.get("Metadata"):
        metadata["Metadata"] = found.head["Metadata"]
    metadata.update(found.wanted)
    client = s3.client_for(area.storage)
    s3.copy(client, area.bucket, stored.key, stored.key, stored.size, metadata)


def is_recent(stored: StoredObject, older_than: timedelta) -> bool:
    """Modified too lately to delete: an admin form may still be about to use it."""
    return timezone.now() - stored.modified < older_than


def delete(stored: StoredObject) -> None:
    """Delete the current version only.

    The bucket is versioned, so the bytes stay as a noncurrent version until
    the lifecycle rule expires them (90 days, a day under staging/): a
    mistaken delete can be undone until then.
    """
    client = s3.client_for(stored.area.storage)
    client.delete_object(Bucket=stored.area.bucket, Key=stored.key)
