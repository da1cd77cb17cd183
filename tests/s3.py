"""S3 for the tests: moto's server over real HTTP, and the site switched to it.

One server runs for the session; each test that asks for ``s3`` gets it
emptied, three fresh buckets configured as ``manage.py s3setup`` does, and
settings that put media and static files in them.
"""

from __future__ import annotations

import logging
import urllib.request
from dataclasses import dataclass

import pytest

from config import storage_config

VIDEO_BUCKET = "hitrate-test-videos"
IMAGE_BUCKET = "hitrate-test-images"
STATIC_BUCKET = "hitrate-test-static"
REGION = "us-east-1"
SITE_ORIGIN = "http://127.0.0.1"


@dataclass
class S3:
    endpoint: str
    client: object

    def keys(self, bucket: str) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=bucket)
        return sorted(entry["Key"] for entry in listed.get("Contents", []))

    def versions(self, bucket: str, key: str) -> list[dict]:
        listed = self.client.list_object_versions(Bucket=bucket, Prefix=key)
        return [v for v in listed.get("Versions", []) if v["Key"] == key]

    def head(self, bucket: str, key: str) -> dict:
        return self.client.head_object(Bucket=bucket, Key=key)

    def multipart_uploads(self, bucket: str) -> list[dict]:
        return self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def start_moto():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def s3_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="session")
def moto_endpoint():
    # Each request would otherwise print a line to the test output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server, endpoint = start_moto()
    yield endpoint
    server.stop()


def use_s3(settings, monkeypatch, endpoint: str) -> None:
    """Point the site's settings at a moto server's buckets."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings.HITRATE_MEDIA_STORAGE = "s3"
    settings.HITRATE_VIDEO_BUCKET = VIDEO_BUCKET
    settings.HITRATE_IMAGE_BUCKET = IMAGE_BUCKET
    settings.HITRATE_STATIC_BUCKET = STATIC_BUCKET
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.STORAGES = storage_config.storages(
        "s3",
        video_bucket=VIDEO_BUCKET,
        image_bucket=IMAGE_BUCKET,
        static_bucket=STATIC_BUCKET,
        endpoint_url=endpoint,
        region=REGION,
    )


@pytest.fixture
def s3(moto_endpoint, settings, monkeypatch) -> S3:
    from videos import buckets

    # Loopback moto server, plain http by construction.
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset).close()  # noqa: S310
    use_s3(settings, monkeypatch, moto_endpoint)
    client = s3_client(moto_endpoint)
    buckets.configure(
        client,
        VIDEO_BUCKET,
        cors_origins=[SITE_ORIGIN],
        public_prefixes=["videos/"],
    )
    buckets.configure(client, IMAGE_BUCKET, public_prefixes=["thumbnails/"])
    buckets.configure(client, STATIC_BUCKET, public_prefixes=["static/"])
    return S3(endpoint=moto_endpoint, client=client)
