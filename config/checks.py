"""System checks for settings that parse but do not fit together."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register()
def check_s3_buckets(app_configs=None, **kwargs):
    if settings.HITRATE_MEDIA_STORAGE != "s3":
        return []
    return [
        Error(
            f"HITRATE_MEDIA_STORAGE is s3 but {name} is not set.",
            hint="Name the bucket that holds this kind of media.",
            id=check_id,
        )
        for name, check_id in (
            ("HITRATE_VIDEO_BUCKET", "hitrate.E001"),
            ("HITRATE_IMAGE_BUCKET", "hitrate.E002"),
        )
        if not getattr(settings, name)
    ]


@register()
def check_media_domain(app_configs=None, **kwargs):
    if settings.HITRATE_MEDIA_DOMAIN and settings.HITRATE_MEDIA_STORAGE != "s3":
        return [
            Warning(
                "HITRATE_MEDIA_DOMAIN is ignored while media stays on the file system.",
                hint="Set HITRATE_MEDIA_STORAGE=s3, or unset the domain.",
                id="hitrate.W001",
            )
        ]
    return []


@register()
def check_upload_processing(app_configs=None, **kwargs):
    s3_mode = settings.HITRATE_MEDIA_STORAGE == "s3"
    processing = settings.HITRATE_UPLOAD_PROCESSING
    if processing == "event" and not s3_mode:
        return [
            Warning(
                "HITRATE_UPLOAD_PROCESSING is event but media is on the file "
                "system, where uploads come through the form and no S3 event "
                "will ever arrive.",
                hint="Unset HITRATE_UPLOAD_PROCESSING or set HITRATE_MEDIA_STORAGE=s3.",
                id="hitrate.W003",
            )
        ]
    on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    if processing == "inline" and s3_mode and on_lambda:
        return [
            Warning(
                "Uploads are processed inline on Lambda: hashing and copying a "
                "large video outlasts API Gateway's 30-second limit.",
                hint="Set HITRATE_UPLOAD_PROCESSING=event and trigger "
                "videos.processing.handle_s3_event from the video bucket.",
                id="hitrate.W004",
            )
        ]
    return []


@register()
def check_lambda_database(app_configs=None, **kwargs):
    on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    engine = settings.DATABASES["default"]["ENGINE"]
    if on_lambda and engine.endswith("sqlite3"):
        return [
            Error(
                "SQLite cannot work on Lambda: its disk is read-only but /tmp, "
                "and /tmp is not shared between instances.",
                hint="Set DATABASE_URL to a PostgreSQL database.",
                id="hitrate.E003",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_secure_in_production(app_configs=None, **kwargs):
    if settings.DEBUG or settings.HITRATE_SECURE:
        return []
    return [
        Warning(
            "HITRATE_SECURE is off: no HTTPS redirect, no HSTS, and cookies "
            "may travel over plain HTTP.",
            hint="Set HITRATE_SECURE=true behind CloudFront.",
            id="hitrate.W002",
        )
    ]


@register()
def check_allowed_hosts(app_configs=None, **kwargs):
    if settings.DEBUG or settings.ALLOWED_HOSTS:
        return []
    return [
        Error(
            "DJANGO_ALLOWED_HOSTS is empty, so every request would be refused.",
            hint="List the host names the site answers to, comma-separated.",
            id="hitrate.E004",
        )
    ]
