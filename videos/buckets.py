"""Creating and configuring HitRate's buckets as the design describes them.

Production buckets come from the infrastructure code; this sets up the same
shape against moto locally, or in a sandbox account.
"""

from __future__ import annotations

import json

from videos import files

# Incomplete multipart uploads and staged objects are the debris of
# abandoned or failed uploads: S3 removes them after a day.
STAGING_DAYS = 1
# Replaced thumbnails and deleted videos stay as noncurrent versions,
# cheaper after 30 days and gone after 90, as the design's cost plan says.
NONCURRENT_IA_DAYS = 30
NONCURRENT_EXPIRY_DAYS = 90


def lifecycle_rules() -> list[dict]:
    return [
        {
            "ID": "abandoned-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": files.STAGING_PREFIX},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": STAGING_DAYS},
            "Expiration": {"Days": STAGING_DAYS},
            "NoncurrentVersionExpiration": {"NoncurrentDays": STAGING_DAYS},
        },
        {
            "ID": "old-versions",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionTransitions": [
                {"NoncurrentDays": NONCURRENT_IA_DAYS, "StorageClass": "STANDARD_IA"}
            ],
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_EXPIRY_DAYS},
        },
    ]


def cors_rules(origins: list[str]) -> list[dict]:
    """Browsers on the site's own origins may PUT upload parts."""
    return [
        {
            "AllowedOrigins": origins,
            "AllowedMethods": ["PUT"],
            "AllowedHeaders": ["Content-Type"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 3600,
        }
    ]


def public_read_policy(bucket: str, prefixes: list[str]) -> str:
    """Anyone may GET these prefixes: only for a local stand-in without a CDN.

    In production the buckets stay private and CloudFront reads them through
    Origin Access Control.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicReadForLocalUse",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": [f"arn:aws:s3:::{bucket}/{p}*" for p in prefixes],
                }
            ],
        }
    )


def configure(
    client,
    bucket: str,
    *,
    cors_origins: list[str] = (),
    public_prefixes: list[str] = (),
) -> list[str]:
    """Create the bucket if needed and set it up; returns what was done."""
    from botocore.exceptions import ClientError

    done = []
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError:
        region = client.meta.region_name
        extra = {}
        if region and region != "us-east-1":
            extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
        client.create_bucket(Bucket=bucket, **extra)
        done.append("created")
    client.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    done.append("versioning on")
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": lifecycle_rules()}
    )
    done.append("lifecycle rules")
    if cors_origins:
        client.put_bucket_cors(
            Bucket=bucket, CORSConfiguration={"CORSRules": cors_rules(cors_origins)}
        )
        done.append("CORS for " + ", ".join(cors_origins))
    if public_prefixes:
        client.put_bucket_policy(
            Bucket=bucket, Policy=public_read_policy(bucket, public_prefixes)
        )
        done.append("public read of " + ", ".join(public_prefixes))
    return done
