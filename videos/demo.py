"""Demo content for a local run: short generated clips, viewers, and their talk.

Clips are rendered by the ffmpeg that imageio-ffmpeg ships (a development
dependency, imported only when a clip is made) from lavfi test sources, so no
media is checked in. Everything is keyed on slugs and usernames: loading
twice creates nothing the second time and never runs ffmpeg for a video that
already exists.
"""

from __future__ import annotations

import datetime
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction

from announcements.models import Announcement
from caching.policies import ANNOUNCEMENT, COMMENTS, THUMBNAIL, VIDEO
from comments.models import Comment
from recommendations.models import Favorite, WatchHistory
from videos.models import Video
from videos.progress import Progress

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "hitrate-admin"  # noqa: S105  (local demo only)
DEMO_VIEWER_USERNAMES = ("alice", "bob", "chen")
DEMO_VIEWER_PASSWORD = "hitrate-viewer"  # noqa: S105  (local demo only)
DEMO_ANNOUNCEMENT_SLUG = "welcome"

CLIP_SIZE = (640, 360)
CLIP_RATE = 24
# A second in, once the moving sources (mandelbrot, life) have moved.
THUMBNAIL_AT = 1.0
# Lines of ffmpeg's stderr quoted when it fails.
STDERR_TAIL = 12

# Fixed, so that the order on the home page does not depend on when (or in
# how many runs) the videos were made: the first clip is the newest.
NEWEST_PUBLISHED_AT = datetime.datetime(2025, 6, 2, 9, 0, tzinfo=datetime.UTC)

MISSING_FFMPEG = "imageio-ffmpeg is not installed: run `make run`, which installs it."


class DemoError(Exception):
    """Demo content could not be made; the message is for the person running it."""


@dataclass(frozen=True)
class DemoVideo:
    slug: str
    title: str
    description: str
    # A lavfi video source, given its size and rate when rendered.
    source: str
    seconds: float
    tone: int


VIDEOS = (
    DemoVideo(
        slug="immutable-video-files",
        title="Immutable video files",
        description=(
            "Every video is stored under a name made of its SHA-256, so its URL "
            "changes exactly when its bytes do. That is what lets the browser "
            f"and the CDN keep it for a year: {VIDEO.cache_control}."
        ),
        source="testsrc2",
        seconds=6,
        tone=440,
    ),
    DemoVideo(
        slug="stale-while-revalidate-thumbnails",
        title="Stale-while-revalidate thumbnails",
        description=(
            "A thumbnail keeps its URL when staff replace it, so caches must "
            "let it expire. For a short while after that they may still answer "
            f"at once with the old image while fetching the new one: "
            f"{THUMBNAIL.cache_control}."
        ),
        source="smptehdbars",
        seconds=5,
        tone=523,
    ),
    DemoVideo(
        slug="etags-and-304s",
        title="ETags and 304s",
        description=(
            "A cache that must ask before reusing a copy sends If-None-Match "
            "with the ETag it holds. An unchanged resource costs a 304 with no "
            "body, which is how the comments list is polled cheaply: "
            f"{COMMENTS.cache_control}."
        ),
        source="mandelbrot",
        seconds=6,
        tone=587,
    ),
    DemoVideo(
        slug="private-no-store",
        title="Private, no-store",
        description=(
            "Favorites, watch history and announcements must never sit in a "
            "shared cache, nor on a shared computer's disk. They are sent as "
            f"{ANNOUNCEMENT.cache_control}, which is also the answer for any "
            "response that forgot its policy."
        ),
        source=(
            "life=ratio=0.1:mold=10:life_color=#3fb0ff"
            ":death_color=#101820:mold_color=#203040"
        ),
        seconds=4,
        tone=659,
    ),
    DemoVideo(
        slug="the-edge-cache",
        title="The edge cache",
        description=(
            "A CDN edge sits between viewers and the origin and keeps what "
            "responses allow it to share. Watch the Age header grow and the "
            "origin's request count stay flat."
        ),
        source="rgbtestsrc",
        seconds=5,
        tone=698,
    ),
    DemoVideo(
        slug="cache-keys-and-vary",
        title="Cache keys and Vary",
        description=(
            "A cache files each response under a key: the method and URL, plus "
            "every request header that Vary names. Vary on too much and the "
            "hit rate falls; on too little and viewers get each other's pages."
        ),
        source="cellauto",
        seconds=6,
        tone=784,
    ),
)

ANNOUNCEMENT_TITLE = "Welcome to HitRate"
ANNOUNCEMENT_BODY = (
    "HitRate is a small video site that teaches HTTP and CDN caching by "
    "running it. Every response carries the Cache-Control policy its content "
    "calls for: open your browser's network panel and watch videos come from "
    "the cache, thumbnails revalidate and this announcement never be stored."
)

# (video index, viewer, comment); comments on videos not loaded are skipped.
COMMENT_LINES = (
    (0, "alice", "So a re-upload gets a new URL and nobody has to purge?"),
    (0, "bob", "The second play came from disk cache. Zero bytes from the origin."),
    (1, "chen", "Replaced the thumbnail and saw the old one for a bit. As promised."),
    (1, "alice", "The stale window is a nice touch for a busy front page."),
    (2, "bob", "304 Not Modified, 0 bytes of body. Lovely."),
    (3, "chen", "Checked the network panel: nothing stored, every time."),
    (4, "alice", "Age: 42. The origin never saw my request."),
    (5, "bob", "Vary: Cookie on a public page would split the cache per viewer."),
)

# (viewer, video indexes) for Favorite rows.
FAVORITES = (
    ("alice", (0, 2, 4)),
    ("bob", (0, 1, 5)),
    ("chen", (1, 3)),
)

# (viewer, video index, seconds watched, hours ago) for WatchHistory rows.
HISTORY = (
    ("alice", 0, 6, 2),
    ("alice", 1, 3, 5),
    ("alice", 4, 2, 26),
    ("bob", 0, 4, 1),
    ("bob", 2, 6, 30),
    ("bob", 5, 1, 50),
    ("chen", 1, 5, 3),
    ("chen", 3, 4, 8),
)


@dataclass
class Summary:
    """What one load created (not what already existed)."""

    videos: int = 0
    users: int = 0
    announcements: int = 0
    comments: int = 0
    favorites: int = 0
    history: int = 0

    @property
    def created_anything(self) -> bool:
        return any(vars(self).values())


def step_count(videos: int) -> int:
    """Progress steps in a load: one per video, then users, talk and signals."""
    return videos + 4


def load(videos: int = len(VIDEOS), progress: Progress | None = None) -> Summary:
    """Create whatever demo content is missing; return what was created."""
    if not 1 <= videos <= len(VIDEOS):
        raise ValueError(f"videos must be between 1 and {len(VIDEOS)}.")
    summary = Summary()

    def step(note: str) -> None:
        if progress is not None:
            progress.advance(note)

    loaded = []
    for index, spec in enumerate(VIDEOS[:videos]):
        video = Video.objects.filter(slug=spec.slug).first()
        if video is None:
            video = _create_video(spec, index)
            summary.videos += 1
            step(f"video {spec.slug}: created")
        else:
            step(f"video {spec.slug}: exists")
        loaded.append(video)

    viewers = _create_users(summary)
    step("users")
    _create_announcement(summary)
    step("announcement")
    _create_comments(loaded, viewers, summary)
    step("comments")
    _create_signals(loaded, viewers, summary)
    step("favorites and watch history")
    return summary


def make_clip(
    path: Path, source: str, seconds: float, *, size=CLIP_SIZE, tone: int = 440
) -> None:
    """Render an H.264/AAC MP4 from a lavfi source, moov first for streaming."""
    width, height = size
    # A lavfi source takes its options after "=", separated by ":".
    options = f"size={width}x{height}:rate={CLIP_RATE}"
    video = f"{source}:{options}" if "=" in source else f"{source}={options}"
    _ffmpeg(
        ["-f", "lavfi", "-i", video],
        ["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000"],
        ["-t", str(seconds), "-map", "0:v", "-map", "1:a"],
        ["-c:v", "libx264", "-preset", "veryfast", "-crf", "28"],
        ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"],
        ["-movflags", "+faststart", str(path)],
    )


def make_thumbnail(clip: Path, path: Path) -> None:
    """Grab one frame of a clip as a JPEG."""
    _ffmpeg(
        ["-ss", str(THUMBNAIL_AT), "-i", str(clip)],
        ["-frames:v", "1", "-q:v", "3", str(path)],
    )


def _ffmpeg(*arguments: list[str]) -> None:
    try:
        import imageio_ffmpeg  # development only: not in the Lambda package
    except ImportError:
        raise DemoError(MISSING_FFMPEG) from None
    try:
        executable = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as error:
        raise DemoError(f"No ffmpeg found: {error}") from None

    command = [executable, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    for group in arguments:
        command += group
    result = subprocess.run(command, capture_output=True, text=True, check=False)

    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-STDERR_TAIL:])
        raise DemoError(f"ffmpeg failed with exit status {result.returncode}:\n{tail}")


def _create_video(spec: DemoVideo, index: int) -> Video:
    with tempfile.TemporaryDirectory(prefix="hitrate-demo-") as directory:
        clip = Path(directory) / f"{spec.slug}.mp4"
        thumbnail = Path(directory) / f"{spec.slug}.jpg"
        make_clip(clip, spec.source, spec.seconds, tone=spec.tone)
        make_thumbnail(clip, thumbnail)

        # Through the model, so the file is sniffed, hashed and named as an
        # upload would be; one transaction, so an interrupted run leaves no
        # row behind.
        with (
            clip.open("rb") as clip_file,
            thumbnail.open("rb") as thumbnail_file,
            transaction.atomic(),
        ):
            video = Video(
                title=spec.title,
                slug=spec.slug,
                description=spec.description,
                file=File(clip_file, name=clip.name),
                thumbnail=File(thumbnail_file, name=thumbnail.name),
                published_at=NEWEST_PUBLISHED_AT - datetime.timedelta(days=index),
            )
            video.publish()
            video.save()
    return video


def _create_users(summary: Summary) -> dict:
    User = get_user_model()
    if not User.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
        User.objects.create_superuser(
            DEMO_ADMIN_USERNAME, "admin@example.com", DEMO_ADMIN_PASSWORD
        )
        summary.users += 1
    for username in DEMO_VIEWER_USERNAMES:
        if not User.objects.filter(username=username).exists():
            User.objects.create_user(
                username, f"{username}@example.com", DEMO_VIEWER_PASSWORD
            )
            summary.users += 1
    viewers = User.objects.filter(username__in=DEMO_VIEWER_USERNAMES)
    return {user.username: user for user in viewers}


def _create_announcement(summary: Summary) -> None:
    _, new = Announcement.objects.get_or_create(
        slug=DEMO_ANNOUNCEMENT_SLUG,
        defaults={"title": ANNOUNCEMENT_TITLE, "body": ANNOUNCEMENT_BODY},
    )
    summary.announcements += new


def _create_comments(videos: list[Video], viewers: dict, summary: Summary) -> None:
    for index, username, body in COMMENT_LINES:
        if index < len(videos):
            _, new = Comment.objects.get_or_create(
                video=videos[index], author=viewers[username], body=body
            )
            summary.comments += new


def _create_signals(videos: list[Video], viewers: dict, summary: Summary) -> None:
    for username, indexes in FAVORITES:
        for index in indexes:
            if index < len(videos):
                _, new = Favorite.objects.get_or_create(
                    user=viewers[username], video=videos[index]
                )
                summary.favorites += new

    now = datetime.datetime.now(tz=datetime.UTC)
    for username, index, seconds, hours_ago in HISTORY:
        if index < len(videos):
            _, new = WatchHistory.objects.get_or_create(
                user=viewers[username],
                video=videos[index],
                defaults={
                    "position": datetime.timedelta(seconds=seconds),
                    "watched_at": now - datetime.timedelta(hours=hours_ago),
                },
            )
            summary.history += new
