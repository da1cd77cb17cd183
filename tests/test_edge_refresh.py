"""The admin's "refresh at the edge now" action: one CloudFront invalidation.

CloudFront is moto's, reached over real HTTP; the distribution is created
there for each test.
"""

from __future__ import annotations

from http import HTTPStatus

import boto3
import pytest
from django.core.files.base import ContentFile

from caching.policies import THUMBNAIL
from tests.conftest import image_bytes
from videos.models import Video

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/videos/video/"


@pytest.fixture
def cloudfront(moto_endpoint, settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client(
        "cloudfront", endpoint_url=moto_endpoint, region_name="us-east-1"
    )
    created = client.create_distribution(
        DistributionConfig={
            "CallerReference": "hitrate-tests",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "images",
                        "DomainName": "hitrate-images.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "images",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    distribution = created["Distribution"]["Id"]
    settings.HITRATE_CLOUDFRONT_DISTRIBUTION_ID = distribution
    settings.HITRATE_CLOUDFRONT_ENDPOINT_URL = moto_endpoint
    yield client, distribution
    client.delete_distribution(Id=distribution, IfMatch=created["ETag"])


@pytest.fixture
def video(media_root, mp4_bytes) -> Video:
    return Video.objects.create(
        title="Posters",
        slug="posters",
        file=ContentFile(mp4_bytes, name="clip.mp4"),
        thumbnail=ContentFile(image_bytes(), name="poster.png"),
    )


def refresh(client, *videos: Video):
    return client.post(
        LIST_URL,
        {
            "action": "refresh_thumbnails",
            "_selected_action": [str(video.pk) for video in videos],
        },
        follow=True,
    )


def test_the_action_invalidates_exactly_the_thumbnails_path(
    staff_client, cloudfront, video
):
    client, distribution = cloudfront

    answer = refresh(staff_client, video)

    assert answer.status_code == HTTPStatus.OK
    listed = client.list_invalidations(DistributionId=distribution)
    (summary,) = listed["InvalidationList"]["Items"]
    detail = client.get_invalidation(DistributionId=distribution, Id=summary["Id"])
    paths = detail["Invalidation"]["InvalidationBatch"]["Paths"]
    assert paths == {"Quantity": 1, "Items": [f"/thumbnails/{video.pk}.jpg"]}
    assert (
        f"CloudFront invalidation {summary['Id']} started for 1 path(s); "
        "edges fetch the new image within minutes."
    ) in answer.content.decode()


def test_a_refused_invalidation_is_reported_not_raised(
    staff_client, cloudfront, video, settings
):
    settings.HITRATE_CLOUDFRONT_DISTRIBUTION_ID = "NOSUCHDIST"

    answer = refresh(staff_client, video)

    assert answer.status_code == HTTPStatus.OK
    assert "CloudFront refused the invalidation: " in answer.content.decode()
    assert "NoSuchDistribution" in answer.content.decode()


def test_without_a_distribution_the_action_is_not_offered(staff_client, video):
    answer = staff_client.get(LIST_URL)

    assert answer.status_code == HTTPStatus.OK
    assert 'value="publish"' in answer.content.decode()
    assert 'value="refresh_thumbnails"' not in answer.content.decode()


def test_the_form_explains_why_it_is_rarely_needed(staff_client, video):
    answer = staff_client.get(f"{LIST_URL}{video.pk}/change/")

    page = answer.content.decode()
    assert f"A replaced thumbnail keeps its URL ({THUMBNAIL.cache_control})." in page
    assert "within about 11 minutes with no action" in page
    assert "past the first 1,000 paths a month" in page
