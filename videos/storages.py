"""S3 storages that write each object's caching policy into its metadata.

CloudFront hands an object's Cache-Control and Content-Type to browsers as
S3 stored them, so the header a viewer sees is the one written here, at
upload. Both come from our own tables, never from what a browser declared.
"""

from __future__ import annotations

import re

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from caching.policies import STATIC, STATIC_UNHASHED, THUMBNAIL, VIDEO, Policy
from videos.serving import content_type

HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.[^./]+$")


class PolicyStorage(S3Storage):
    """An S3 storage whose objects carry the policy of their kind."""

    policy: Policy

    def policy_for(self, name: str) -> Policy:
        return self.policy

    def get_object_parameters(self, name: str) -> dict:
        params = super().get_object_parameters(name)
        # django-storages passes the object's key, location in front; the
        # policy is chosen by the storage-relative name.
        location = self.location.strip("/")
        relative = name.removeprefix(f"{location}/") if location else name
        params.update(self.metadata_for(relative))
        return params

    def metadata_for(self, name: str) -> dict[str, str]:
        """The Cache-Control and Content-Type an object of this name must have."""
        return {
            "CacheControl": self.policy_for(name).cache_control,
            "ContentType": content_type(name),
        }


class VideoStorage(PolicyStorage):
    policy = VIDEO


class ThumbnailStorage(PolicyStorage):
    policy = THUMBNAIL


class StaticStorage(ManifestFilesMixin, PolicyStorage):
    """Static assets in S3: hashed copies immutable, plain names revalidated.

    The manifest stays on local disk beside the code (STATIC_ROOT), so a
    cold start reads no object from S3 to resolve a static URL.
    """

    policy = STATIC_UNHASHED

    def __init__(self, **settings):
        from django.conf import settings as django_settings

        manifest = FileSystemStorage(location=django_settings.STATIC_ROOT)
        super().__init__(manifest_storage=manifest, **settings)
        self._hashing = False

    def policy_for(self, name: str) -> Policy:
        # Hashed copies from earlier deploys are no longer in the manifest
        # but are still immutable: their shape (name.<12 hex>.ext, as
        # ManifestFilesMixin makes them) says so.
        hashed = HASHED_NAME.search(name) or name in self.hashed_files.values()
        return STATIC if self._hashing or hashed else STATIC_UNHASHED

    def post_process(self, *args, **kwargs):
        # collectstatic stores every file under its plain name first; what
        # is written while post-processing is the hashed copies.
        self._hashing = True
        try:
            yield from super().post_process(*args, **kwargs)
        finally:
            self._hashing = False
