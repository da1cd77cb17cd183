"""Settings come from the environment, strictly parsed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parent.parent


def run_django(code: str, **variables: str) -> subprocess.CompletedProcess:
    """Start Django in a fresh process with the given environment changes."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "HITRATE_", "DATABASE_URL"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        HITRATE_DATA_DIR=os.environ["HITRATE_DATA_DIR"],
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(*arguments: str, **variables: str) -> subprocess.CompletedProcess:
    code = (
        "from django.core.management import call_command; "
        f"call_command(*{list(arguments)!r})"
    )
    return run_django(code, **variables)


def test_production_refuses_to_start_without_a_secret_key():
    result = run_django("print('started')")

    assert result.returncode == 1
    assert "started" not in result.stdout
    assert result.stderr.strip().endswith(
        "django.core.exceptions.ImproperlyConfigured: "
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off."
    )


def test_debug_starts_without_a_secret_key():
    result = run_django("print('started')", DJANGO_DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "started\n"


def test_a_bad_boolean_stops_the_process_with_its_name():
    result = run_django("print('started')", DJANGO_DEBUG="sometimes")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        "DJANGO_DEBUG='sometimes' is not a boolean: use one of "
        "0, 1, false, no, off, on, true, yes."
    )


def test_the_secure_switch_turns_on_hsts_https_and_secure_cookies():
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )

    result = run_django(code, DJANGO_SECRET_KEY="x" * 50, HITRATE_SECURE="true")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "31536000 True True True True ('HTTP_X_FORWARDED_PROTO', 'https')\n"
    )


@pytest.mark.django_db
def test_the_secure_switch_sends_the_designed_hsts_header(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    response = client.get("/", secure=True)

    assert response["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains"
    )


def test_s3_storage_without_buckets_fails_the_system_check():
    result = manage(
        "check",
        DJANGO_DEBUG="true",
        HITRATE_MEDIA_STORAGE="s3",
    )

    assert result.returncode == 1
    assert "hitrate.E001" in result.stderr
    assert "HITRATE_MEDIA_STORAGE is s3 but HITRATE_VIDEO_BUCKET is not set." in (
        result.stderr
    )
    assert "hitrate.E002" in result.stderr


def test_an_unknown_storage_is_refused():
    result = run_django("", DJANGO_DEBUG="true", HITRATE_MEDIA_STORAGE="ftp")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        "HITRATE_MEDIA_STORAGE='ftp' is not one of: filesystem, s3."
    )


def test_the_deploy_check_warns_when_the_secure_switch_is_off():
    result = manage(
        "check",
        "--deploy",
        DJANGO_SECRET_KEY="k" * 60,
        DJANGO_ALLOWED_HOSTS="hitrate.example",
    )

    assert "hitrate.W002" in result.stderr
    assert "HITRATE_SECURE is off" in result.stderr


def test_sqlite_on_lambda_fails_the_system_check():
    result = manage("check", DJANGO_DEBUG="true", AWS_LAMBDA_FUNCTION_NAME="hitrate")

    assert result.returncode == 1
    assert "hitrate.E003" in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "sqlite:///var/db.sqlite3",
            {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/var/db.sqlite3"},
        ),
        (
            "sqlite:////tmp/x.sqlite3",
            {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/x.sqlite3"},
        ),
        (
            "postgres://hit:p%40ss@db.example:6432/hitrate?sslmode=require",
            {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "hitrate",
                "USER": "hit",
                "PASSWORD": "p@ss",
                "HOST": "db.example",
                "PORT": "6432",
                "OPTIONS": {"sslmode": "require"},
                "CONN_MAX_AGE": 60,
                "CONN_HEALTH_CHECKS": True,
            },
        ),
    ],
)
def test_database_urls_are_understood(url, expected):
    assert env.database(url, "/srv") == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://x/y",
            "DATABASE_URL='mysql://x/y': the scheme must be sqlite or postgres.",
        ),
        ("postgres://host/", "DATABASE_URL='postgres://host/' names no database."),
        (
            "postgres://host:port/x",
            "DATABASE_URL='postgres://host:port/x' has a port that is not a number.",
        ),
    ],
)
def test_bad_database_urls_are_refused_with_a_reason(url, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        env.database(url, "/srv")

    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("many", "HITRATE_LIMIT='many' is not a whole number."),
        ("-3", "HITRATE_LIMIT=-3 is below its minimum, 1."),
    ],
)
def test_bad_numbers_are_refused(monkeypatch, raw, message):
    monkeypatch.setenv("HITRATE_LIMIT", raw)

    with pytest.raises(ImproperlyConfigured) as raised:
        env.integer("HITRATE_LIMIT", 10, minimum=1)

    assert str(raised.value) == message


def test_no_allowed_hosts_outside_debug_fails_the_system_check():
    result = manage("check", DJANGO_SECRET_KEY="k" * 60)

    assert result.returncode == 1
    assert "hitrate.E004" in result.stderr


def test_a_media_domain_without_s3_is_reported():
    result = manage("check", DJANGO_DEBUG="true", HITRATE_MEDIA_DOMAIN="cdn.example")

    assert result.returncode == 0
    assert "hitrate.W001" in result.stderr


def test_event_processing_without_s3_is_reported():
    result = manage("check", DJANGO_DEBUG="true", HITRATE_UPLOAD_PROCESSING="event")

    assert result.returncode == 0
    assert "hitrate.W003" in result.stderr


def test_inline_processing_on_lambda_is_reported():
    result = manage(
        "check",
        DJANGO_DEBUG="true",
        AWS_LAMBDA_FUNCTION_NAME="hitrate",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/hitrate",
        HITRATE_MEDIA_STORAGE="s3",
        HITRATE_VIDEO_BUCKET="v",
        HITRATE_IMAGE_BUCKET="i",
    )

    assert "hitrate.W004" in result.stderr
    assert "outlasts API Gateway's 30-second limit" in result.stderr


def test_s3_mode_sends_each_kind_to_its_bucket():
    code = (
        "from django.conf import settings as s; "
        "print(s.STORAGES['videos']['BACKEND'], "
        "s.STORAGES['videos']['OPTIONS']['bucket_name'], "
        "s.STORAGES['thumbnails']['OPTIONS']['bucket_name'], "
        "s.STORAGES['staticfiles']['OPTIONS']['bucket_name'], "
        "s.STORAGES['staticfiles']['OPTIONS']['location'], "
        "s.STORAGES['videos']['OPTIONS']['querystring_auth'])"
    )
    result = run_django(
        code,
        DJANGO_DEBUG="true",
        HITRATE_MEDIA_STORAGE="s3",
        HITRATE_VIDEO_BUCKET="hitrate-videos",
        HITRATE_IMAGE_BUCKET="hitrate-images",
    )

    assert result.stdout.split() == [
        "videos.storages.VideoStorage",
        "hitrate-videos",
        "hitrate-images",
        "hitrate-images",
        "static",
        "False",
    ]
