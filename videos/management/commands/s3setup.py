"""manage.py s3setup: create and configure the media buckets."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from videos import buckets, files, s3


class Command(BaseCommand):
    help = (
        "Create the video, image and static buckets if missing, and turn on "
        "versioning, lifecycle rules and CORS for direct uploads."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--cors-origin",
            action="append",
            default=[],
            metavar="ORIGIN",
            help="An origin the admin runs on, allowed to PUT upload parts "
            "(repeat for several).",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="Wait this long for S3 to answer (a moto server just started).",
        )
        parser.add_argument(
            "--public-read",
            action="store_true",
            help="Let anyone GET videos, thumbnails and static files: only "
            "for a local S3 stand-in with no CDN in front.",
        )

    def handle(self, *args, cors_origin, public_read, wait, **options):
        storage = files.video_storage()
        if not files.is_s3(storage):
            raise CommandError(
                "Media is on the file system; set HITRATE_MEDIA_STORAGE=s3 and "
                "the bucket variables first (see the README)."
            )
        client = s3.client_for(storage)
        self.wait_for(client, wait)
        static = settings.HITRATE_STATIC_BUCKET or settings.HITRATE_IMAGE_BUCKET
        plan: dict[str, dict] = {}
        plan.setdefault(settings.HITRATE_VIDEO_BUCKET, {"prefixes": ["videos/"]})
        plan[settings.HITRATE_VIDEO_BUCKET]["cors"] = cors_origin
        plan.setdefault(settings.HITRATE_IMAGE_BUCKET, {"prefixes": []})
        plan[settings.HITRATE_IMAGE_BUCKET]["prefixes"].append("thumbnails/")
        plan.setdefault(static, {"prefixes": []})
        plan[static]["prefixes"].append("static/")

        for bucket, wanted in plan.items():
            done = buckets.configure(
                client,
                bucket,
                cors_origins=wanted.get("cors", []),
                public_prefixes=wanted["prefixes"] if public_read else [],
            )
            self.stdout.write(f"{bucket}: {', '.join(done)}")

    def wait_for(self, client, seconds: float) -> None:
        from botocore.exceptions import EndpointConnectionError

        deadline = time.monotonic() + seconds
        while True:
            try:
                client.list_buckets()
            except EndpointConnectionError as error:
                if time.monotonic() >= deadline:
                    raise CommandError(f"S3 does not answer: {error}") from None
                time.sleep(0.2)
            else:
                return
