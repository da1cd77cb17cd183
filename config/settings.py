"""HitRate's settings, all read from the environment (see the README).

The defaults run the site locally on SQLite and the file system. Production
sets DJANGO_SECRET_KEY, DATABASE_URL, HITRATE_SECURE=true and the S3 storage
variables.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config import env, storage_config

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env.string("HITRATE_DATA_DIR") or BASE_DIR / "var")

DEBUG = env.boolean("DJANGO_DEBUG", False)

SECRET_KEY = env.string("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105

ALLOWED_HOSTS = env.items(
    "DJANGO_ALLOWED_HOSTS", ("127.0.0.1", "localhost") if DEBUG else ()
)
CSRF_TRUSTED_ORIGINS = env.items("DJANGO_CSRF_TRUSTED_ORIGINS")

# In debug and in tests a response without a policy is an error; in
# production it is sent as private, no-store with a warning.
HITRATE_STRICT_POLICIES = env.boolean("HITRATE_STRICT_POLICIES", DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "corsheaders",
    "config.apps.SiteConfig",
    "caching",
    "videos",
    "announcements",
    "comments",
    "recommendations",
    "accounts",
    "edge",
    "lab",
]

MIDDLEWARE = [
    "caching.middleware.CachePolicyMiddleware",
    "caching.timing.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.NotModifiedMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Widgets find their templates where pages do (templates/), as well as in
# django.forms' own.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": env.database(
        env.string("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        str(BASE_DIR),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "accounts:me"
LOGOUT_REDIRECT_URL = "videos:home"

# CORS as the design sets it, for the JSON API only. Comment writes carry a
# bearer token, never cookies, so credentials stay off.
CORS_ALLOWED_ORIGINS = env.items("HITRATE_CORS_ORIGINS")
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
CORS_ALLOW_HEADERS = ("content-type", "authorization", "if-none-match", "if-match")
CORS_EXPOSE_HEADERS = ("ETag", "Cache-Control")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files are collected with content-hashed names and served by the app
# itself (config.views.static) so that they carry policies from the table.
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Media: "filesystem" keeps files under MEDIA_ROOT and serves them from
# /media/; "s3" keeps videos and thumbnails in their own buckets and static
# assets under static/ in a bucket of their own (the image bucket unless
# named), each object carrying its Cache-Control from the policy table.
HITRATE_MEDIA_STORAGE = env.choice(
    "HITRATE_MEDIA_STORAGE", "filesystem", ("filesystem", "s3")
)
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
HITRATE_VIDEO_BUCKET = env.string("HITRATE_VIDEO_BUCKET")
HITRATE_IMAGE_BUCKET = env.string("HITRATE_IMAGE_BUCKET")
HITRATE_STATIC_BUCKET = env.string("HITRATE_STATIC_BUCKET")
# The CDN's host name: media and static URLs point at it, never at signed
# S3 URLs. Without it they point at the S3 endpoint (moto, locally).
HITRATE_MEDIA_DOMAIN = env.string("HITRATE_MEDIA_DOMAIN")
AWS_S3_ENDPOINT_URL = env.string("AWS_S3_ENDPOINT_URL")
AWS_S3_REGION_NAME = env.string("AWS_S3_REGION_NAME") or env.string(
    "AWS_DEFAULT_REGION"
)
# "inline" processes a direct upload in the request that completes it;
# "event" leaves it to the S3-triggered function (videos.processing).
HITRATE_UPLOAD_PROCESSING = env.choice(
    "HITRATE_UPLOAD_PROCESSING", "inline", ("inline", "event")
)
# When set, the admin offers to invalidate a replaced thumbnail's path.
HITRATE_CLOUDFRONT_DISTRIBUTION_ID = env.string("HITRATE_CLOUDFRONT_DISTRIBUTION_ID")
# Only for tests and local stand-ins such as moto; empty means AWS itself.
HITRATE_CLOUDFRONT_ENDPOINT_URL = env.string("HITRATE_CLOUDFRONT_ENDPOINT_URL")


STORAGES = storage_config.storages(
    HITRATE_MEDIA_STORAGE,
    video_bucket=HITRATE_VIDEO_BUCKET,
    image_bucket=HITRATE_IMAGE_BUCKET,
    static_bucket=HITRATE_STATIC_BUCKET,
    domain=HITRATE_MEDIA_DOMAIN,
    endpoint_url=AWS_S3_ENDPOINT_URL,
    region=AWS_S3_REGION_NAME,
)

# On the file system, uploads stream through a handler that hashes each chunk
# on its way to a temporary file, so a video is never held in memory. In S3
# mode videos go from the browser straight to S3 (videos.direct_uploads).
FILE_UPLOAD_HANDLERS = ["videos.uploads.HashingUploadHandler"]
HITRATE_VIDEO_MAX_BYTES = env.integer("HITRATE_VIDEO_MAX_BYTES", 5 * 1024**3, minimum=1)
# Thumbnails still come through the app, so the whole form must fit in
# Lambda's 6 MB event once API Gateway has base64-encoded it (4/3 larger).
HITRATE_THUMBNAIL_MAX_BYTES = env.integer(
    "HITRATE_THUMBNAIL_MAX_BYTES", 4 * 1024**2, minimum=1
)

# Production security, one switch: HTTPS only, HSTS as the design asks,
# cookies never sent over plain HTTP. CloudFront and API Gateway terminate
# TLS and say so in X-Forwarded-Proto.
HITRATE_SECURE = env.boolean("HITRATE_SECURE", False)
if HITRATE_SECURE:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # Django's own messages reach the console through the root handler only
    # (its default setup mails errors and prints in debug alone); on Lambda
    # the console is CloudWatch Logs.
    "loggers": {"django": {"handlers": [], "level": "INFO"}},
}
