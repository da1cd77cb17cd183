"""S3 storages that write each object's caching policy into its metadata.

CloudFront hands an object's Cache-Control and Content-Type to browsers as
S3 stored them, so the header a viewer sees is the one written here, at
upload. Both come from our own tables, never from what a browser declared.
"""

from __future__ import annotations

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from caching.policies import STATIC, STATIC_UNHASHED, THUMBNAIL, VIDEO, Policy
from videos.serving import content_type


class PolicyStorage(S3Storage):
    """An S3 storage whose objects carry the policy of their kind."""

    policy: Policy

    def policy_for(self, name: str) -> Policy:
        return self.policy

    def get_object_parameters(self, name: str) -> dict:
        params = super().get_object_parameters(name)
        params["CacheControl"] = self.policy_for(name).cache_control
        params["ContentType"] = content_type(name)
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
        if self._hashing or name in self.hashed_files.values():
            return STATIC
        return STATIC_UNHASHED

    def post_process(self, *args, **kwargs):
        # collectstatic stores every file under its plain name first; what
        # is written while post-processing is the hashed copies.
        self._hashing = True
        try:
            yield from super().post_process(*args, **kwargs)
        finally:
            self._hashing = False
