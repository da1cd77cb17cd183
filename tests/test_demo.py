from __future__ import annotations

import dataclasses
import datetime
import io
import re
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from announcements.models import Announcement
from caching.policies import THUMBNAIL, VIDEO
from comments.models import Comment
from recommendations.models import Favorite, WatchHistory
from tests.s3 import IMAGE_BUCKET, VIDEO_BUCKET
from videos import demo
from videos.models import Video
from videos.progress import Progress

pytestmark = pytest.mark.django_db

SMALL = (320, 180)
CLIP_SECONDS = 2

FIRST_RUN = (
    "Demo content created: 2 videos, 4 users, 1 announcement, 4 comments, "
    "4 favorites, 4 watch history entries.\n"
)
ALREADY_LOADED = "Demo content already loaded: nothing to create.\n"


@pytest.fixture
def media(settings, tmp_path):
    """Media under tmp_path; cheap password hashing for four users."""
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


@pytest.fixture
def ffmpeg_calls(monkeypatch):
    """Short, small clips, and a record of the sources rendered."""
    real = demo.make_clip
    sources = []

    def make_clip(path, source, seconds, **options):
        sources.append(source)
        real(path, source, CLIP_SECONDS, **options | {"size": SMALL})

    monkeypatch.setattr(demo, "make_clip", make_clip)
    return sources


def loaddemo(**options) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("loaddemo", stdout=stdout, stderr=stderr, **options)
    return stdout.getvalue(), stderr.getvalue()


def stored_files(root) -> dict[str, int]:
    return {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for path in root.rglob("*")
        if path.is_file()
    }


def row_counts() -> dict[str, int]:
    models = [
        Video,
        get_user_model(),
        Announcement,
        Comment,
        Favorite,
        WatchHistory,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_it_stores_published_videos_through_the_model(media, ffmpeg_calls):
    loaddemo(videos=2)

    videos = list(Video.objects.published())
    assert [video.slug for video in videos] == [
        "immutable-video-files",
        "stale-while-revalidate-thumbnails",
    ]
    assert ffmpeg_calls == ["testsrc2", "smptehdbars"]
    for video in videos:
        assert re.fullmatch(r"videos/video-[0-9a-f]{64}\.mp4", video.file.name)
        assert video.file.name == f"videos/video-{video.sha256}.mp4"
        stored = media / video.file.name
        assert stored.read_bytes()[4:8] == b"ftyp"
        assert video.size == stored.stat().st_size
        assert video.duration == datetime.timedelta(seconds=CLIP_SECONDS)

        assert video.thumbnail.name == f"thumbnails/{video.pk}.jpg"
        assert (media / video.thumbnail.name).read_bytes()[:3] == b"\xff\xd8\xff"


def test_in_s3_mode_it_uploads_the_catalogue_with_each_kinds_policy(
    s3, media, ffmpeg_calls
):
    loaddemo(videos=2)

    videos = list(Video.objects.published())
    assert s3.keys(VIDEO_BUCKET) == sorted(video.file.name for video in videos)
    assert s3.keys(IMAGE_BUCKET) == sorted(video.thumbnail.name for video in videos)
    for video in videos:
        head = s3.head(VIDEO_BUCKET, video.file.name)
        assert head["CacheControl"] == VIDEO.cache_control
        assert head["ContentType"] == "video/mp4"
        assert head["ContentLength"] == video.size
        thumbnail = s3.head(IMAGE_BUCKET, video.thumbnail.name)
        assert thumbnail["CacheControl"] == THUMBNAIL.cache_control
        assert thumbnail["ContentType"] == "image/jpeg"
    assert not any(media.rglob("*.mp4"))


def test_it_publishes_newest_first_at_fixed_dates(media, ffmpeg_calls):
    loaddemo(videos=2)

    assert list(Video.objects.values_list("published_at", flat=True)) == [
        datetime.datetime(2025, 6, 2, 9, 0, tzinfo=datetime.UTC),
        datetime.datetime(2025, 6, 1, 9, 0, tzinfo=datetime.UTC),
    ]


def test_it_creates_the_admin_and_the_viewers(media, ffmpeg_calls):
    loaddemo(videos=2)

    users = get_user_model().objects.order_by("username")
    assert [user.username for user in users] == ["admin", "alice", "bob", "chen"]
    admin = users.get(username=demo.DEMO_ADMIN_USERNAME)
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.check_password("hitrate-admin")
    for viewer in users.exclude(pk=admin.pk):
        assert not viewer.is_staff
        assert viewer.check_password("hitrate-viewer")


def test_it_creates_an_announcement_and_talk_about_the_videos(media, ffmpeg_calls):
    loaddemo(videos=2)

    assert list(Announcement.objects.live().values_list("slug", flat=True)) == [
        "welcome"
    ]
    comments = Comment.objects.order_by("video__published_at", "author__username")
    assert list(comments.values_list("video__slug", "author__username")) == [
        ("stale-while-revalidate-thumbnails", "alice"),
        ("stale-while-revalidate-thumbnails", "chen"),
        ("immutable-video-files", "alice"),
        ("immutable-video-files", "bob"),
    ]
    assert Favorite.objects.count() == 4
    assert WatchHistory.objects.count() == 4


def test_it_reports_what_it_created(media, ffmpeg_calls):
    stdout, _ = loaddemo(videos=2)

    assert stdout == FIRST_RUN


def test_the_progress_mentions_each_step(media, ffmpeg_calls):
    _, stderr = loaddemo(videos=2)

    assert stderr.splitlines() == [
        "Demo [###.................] 1/6 video immutable-video-files: created",
        "Demo [######..............] 2/6 "
        "video stale-while-revalidate-thumbnails: created",
        "Demo [##########..........] 3/6 users",
        "Demo [#############.......] 4/6 announcement",
        "Demo [################....] 5/6 comments",
        "Demo [####################] 6/6 favorites and watch history",
    ]


def test_a_second_run_creates_nothing_and_runs_no_ffmpeg(
    media, ffmpeg_calls, monkeypatch
):
    loaddemo(videos=2)
    counts, files = row_counts(), stored_files(media)

    def no_ffmpeg(*args, **kwargs):
        raise AssertionError("ffmpeg ran on the second load")

    monkeypatch.setattr(demo, "make_clip", no_ffmpeg)
    monkeypatch.setattr(demo, "make_thumbnail", no_ffmpeg)
    stdout, stderr = loaddemo(videos=2)

    assert stdout == ALREADY_LOADED
    assert "video immutable-video-files: exists" in stderr
    assert row_counts() == counts
    assert counts == {
        "Video": 2,
        "User": 4,
        "Announcement": 1,
        "Comment": 4,
        "Favorite": 4,
        "WatchHistory": 4,
    }
    assert stored_files(media) == files
    assert len(files) == 4


def test_a_larger_run_adds_only_the_missing_video(media, ffmpeg_calls):
    loaddemo(videos=1)
    stdout, _ = loaddemo(videos=2)

    assert ffmpeg_calls == ["testsrc2", "smptehdbars"]
    assert stdout == (
        "Demo content created: 1 video, 0 users, 0 announcements, 2 comments, "
        "2 favorites, 2 watch history entries.\n"
    )


@pytest.mark.parametrize("videos", [0, -1, 7])
def test_it_refuses_a_video_count_out_of_range(videos):
    with pytest.raises(CommandError) as raised:
        loaddemo(videos=videos)

    assert str(raised.value) == "--videos must be between 1 and 6."


def test_it_explains_that_imageio_ffmpeg_is_missing(media, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)

    with pytest.raises(CommandError) as raised:
        loaddemo(videos=1)

    assert str(raised.value) == (
        "imageio-ffmpeg is not installed: run `make run`, which installs it."
    )
    assert Video.objects.count() == 0


def test_a_failing_ffmpeg_is_quoted_and_leaves_no_video(media, monkeypatch):
    broken = dataclasses.replace(demo.VIDEOS[0], source="nosuchsource")
    monkeypatch.setattr(demo, "VIDEOS", (broken, *demo.VIDEOS[1:]))

    with pytest.raises(CommandError) as raised:
        loaddemo(videos=1)

    message = str(raised.value)
    assert message.startswith("ffmpeg failed with exit status ")
    assert "No such filter: 'nosuchsource'" in message
    assert Video.objects.count() == 0
    assert stored_files(media) == {}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_writes_a_line_per_step_off_a_terminal():
    stream = io.StringIO()
    progress = Progress(4, "Demo", stream)

    progress.advance("first")
    progress.advance()

    assert stream.getvalue() == (
        "Demo [#####...............] 1/4 first\nDemo [##########..........] 2/4\n"
    )


def test_progress_redraws_one_line_on_a_terminal():
    stream = Terminal()
    progress = Progress(2, "Demo", stream)

    progress.advance("a longer note")
    progress.advance("done")

    assert stream.getvalue() == (
        "\rDemo [##########..........] 1/2 a longer note"
        "\rDemo [####################] 2/2 done         \n"
    )


def test_progress_ends_an_interrupted_bar_on_close():
    stream = Terminal()
    progress = Progress(3, "Demo", stream)

    progress.advance("first")
    progress.close()
    progress.close()

    assert stream.getvalue() == "\rDemo [######..............] 1/3 first\n"
