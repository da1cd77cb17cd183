"""Asking CloudFront to drop its copies of paths that changed in place."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings

logger = logging.getLogger(__name__)


class InvalidationFailed(Exception):
    """CloudFront refused or could not be reached; the message says which."""


def configured() -> bool:
    return bool(settings.HITRATE_CLOUDFRONT_DISTRIBUTION_ID)


def client():
    import boto3

    # CloudFront is a global service; its API lives in us-east-1.
    return boto3.client(
        "cloudfront",
        region_name="us-east-1",
        endpoint_url=settings.HITRATE_CLOUDFRONT_ENDPOINT_URL or None,
    )


def invalidate(paths: list[str]) -> str:
    """Start an invalidation of these paths; returns its id."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not configured():
        raise InvalidationFailed("No CloudFront distribution is configured.")
    try:
        answer = client().create_invalidation(
            DistributionId=settings.HITRATE_CLOUDFRONT_DISTRIBUTION_ID,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                # Makes a retried request start no second invalidation.
                "CallerReference": str(uuid.uuid4()),
            },
        )
    except (BotoCoreError, ClientError) as error:
        logger.warning("CloudFront invalidation of %s failed: %s", paths, error)
        raise InvalidationFailed(
            f"CloudFront refused the invalidation: {error}"
        ) from None
    return answer["Invalidation"]["Id"]
