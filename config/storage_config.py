"""The STORAGES setting for either media mode, built from plain values.

Settings call it with what the environment says; tests call it to switch a
test to S3 against a moto server.
"""

from __future__ import annotations


def storages(
    mode: str,
    *,
    video_bucket: str = "",
    image_bucket: str = "",
    static_bucket: str = "",
    domain: str = "",
    endpoint_url: str = "",
    region: str = "",
) -> dict:
    if mode == "filesystem":
        # Videos are named by content and thumbnails replaced in place:
        # writing over an existing name is what both want.
        media = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"allow_overwrite": True},
        }
        return {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "videos": media,
            "thumbnails": media,
            "staticfiles": {
                "BACKEND": (
                    "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
                )
            },
        }

    def options(bucket: str, **extra) -> dict:
        return {
            "bucket_name": bucket,
            "custom_domain": domain or None,
            # Public media is served by the CDN: plain URLs, never signed.
            "querystring_auth": False,
            "file_overwrite": True,
            "signature_version": "s3v4",
            "region_name": region or None,
            "endpoint_url": endpoint_url or None,
            "addressing_style": "path" if endpoint_url else None,
            **extra,
        }

    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "videos": {
            "BACKEND": "videos.storages.VideoStorage",
            "OPTIONS": options(video_bucket),
        },
        "thumbnails": {
            "BACKEND": "videos.storages.ThumbnailStorage",
            "OPTIONS": options(image_bucket),
        },
        "staticfiles": {
            "BACKEND": "videos.storages.StaticStorage",
            "OPTIONS": options(static_bucket or image_bucket, location="static"),
        },
    }
