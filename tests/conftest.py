from __future__ import annotations

import io
import subprocess

import pytest
from django.contrib.auth import get_user_model

pytest_plugins = ["tests.s3", "tests.servers"]


def _ffmpeg(tmp_dir, name: str, source: str) -> bytes:
    import imageio_ffmpeg

    path = tmp_dir / name
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"{source}=size=160x90:rate=10:duration=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
    )
    return path.read_bytes()


@pytest.fixture(scope="session")
def mp4_bytes(tmp_path_factory) -> bytes:
    """A real two-second H.264 MP4 with its index at the start."""
    return _ffmpeg(tmp_path_factory.mktemp("clips"), "a.mp4", "testsrc2")


@pytest.fixture(scope="session")
def other_mp4_bytes(tmp_path_factory) -> bytes:
    return _ffmpeg(tmp_path_factory.mktemp("clips"), "b.mp4", "smptebars")


def image_bytes(fmt: str = "PNG", colour: str = "orange", size=(64, 36)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root) -> list[str]:
    """Every file under a media root, as sorted relative names."""
    if not root.exists():
        return []
    return sorted(
        str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()
    )


@pytest.fixture(params=["anonymous", "signed-in", "staff"])
def visitor(request, client):
    """A client for each kind of visitor, for answers that must not differ."""
    if request.param != "anonymous":
        user = get_user_model().objects.create_user(
            "someone", is_staff=request.param == "staff"
        )
        client.force_login(user)
    return client


@pytest.fixture
def staff(db):
    # Signed in with force_login: no password, so no second of hashing.
    return get_user_model().objects.create_superuser(
        "staff", "staff@example.com", password=None
    )


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture(scope="session", autouse=True)
def collected_static(django_db_blocker):
    """Collect static files once, as `make run` and the Lambda build do.

    The manifest of hashed names is what templates read outside debug mode.
    """
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    return f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}"
