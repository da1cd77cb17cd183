"""A bounded, seeded workload of viewers watching the catalogue through the edge.

Each view is what a player's page does: the video page, its thumbnail, a
first range of the video and a seek, a few polls of the comments with
If-None-Match, the recommendations, and for signed-in viewers their personal
data. Popularity over the videos is Zipf-shaped, as it is on real sites: a
few videos get most views, so most requests can be answered by the edge.

Viewers run in threads and only make HTTP requests. Changes (a thumbnail
replaced, comments posted) are made by the calling thread, through the
models, at planned points of the run; the calling thread also owns the
database connection, which is what an in-memory test database needs.
"""

from __future__ import annotations

import io
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils.module_loading import import_string

from comments.models import Comment
from lab.harness import Lab, fetch
from lab.report import Timing
from videos.models import Video
from videos.progress import Progress

# The edge's slice size (edge.config.SLICE_SIZE): a seek lands on a slice
# boundary, as players seek to keyframes and the edge stores slices.
SLICE = 1024 * 1024
# A seek into a video shorter than a slice lands on a 64 KB boundary.
SMALL_SEEK_STEP = 64 * 1024
# Zipf's exponent: about 1 for video popularity (Cha et al., "I Tube, You
# Tube, Everybody Tubes", IMC 2007, fit an exponent close to 1).
ZIPF_EXPONENT = 1.0
WORKERS = 8
POLLS = 3
SIGNED_IN_SHARE = 0.3
ANNOUNCEMENTS_SHARE = 0.1
SIGNED_IN_USERS = 3
COMMENTS_POSTED = 4
PROGRESS_STEPS = 20
MARKER = "(posted by cachelab)"


@dataclass(frozen=True)
class Item:
    """One published video, as a viewer's requests name it."""

    id: object
    slug: str
    page: str
    file: str
    size: int
    thumbnail: str | None


@dataclass(frozen=True)
class View:
    video: Item
    seek: int
    viewer: int | None
    announcements: bool


@dataclass
class Outcome:
    timings: list[Timing] = field(default_factory=list)
    planned: int = 0
    done: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)


def catalogue() -> list[Item]:
    """The published videos, newest first, with the paths of their files."""
    found = []
    for video in Video.objects.published():
        thumbnail = urlsplit(video.thumbnail.url).path if video.thumbnail else None
        found.append(
            Item(
                id=video.pk,
                slug=video.slug,
                page=video.get_absolute_url(),
                file=urlsplit(video.file.url).path,
                size=video.size,
                thumbnail=thumbnail,
            )
        )
    return found


def plan(videos: list[Item], views: int, seed: int, viewers: int) -> list[View]:
    """``views`` views over ``videos``, drawn with a seeded, Zipf-shaped RNG."""
    # Reproducible on purpose: the same seed replays the same views.
    rng = random.Random(seed)  # noqa: S311
    ranked = list(videos)
    rng.shuffle(ranked)
    weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, len(ranked) + 1)]
    planned = []
    for video in rng.choices(ranked, weights, k=views):
        viewer = None
        if viewers and rng.random() < SIGNED_IN_SHARE:
            viewer = rng.randrange(viewers)
        planned.append(
            View(
                video=video,
                seek=seek_offset(video.size, rng),
                viewer=viewer,
                announcements=rng.random() < ANNOUNCEMENTS_SHARE,
            )
        )
    return planned


def seek_offset(size: int, rng: random.Random) -> int:
    """Where a viewer seeks to: a slice boundary past the first slice."""
    if size > SLICE:
        return rng.randrange(1, (size - 1) // SLICE + 1) * SLICE
    steps = max(1, size // SMALL_SEEK_STEP)
    return rng.randrange(steps // 2, steps) * SMALL_SEEK_STEP if steps > 1 else 0


def most_popular(views: list[View]) -> list[Item]:
    counts: dict[str, int] = {}
    for view in views:
        counts[view.video.slug] = counts.get(view.video.slug, 0) + 1
    by_slug = {view.video.slug: view.video for view in views}
    return [by_slug[slug] for slug in sorted(counts, key=counts.get, reverse=True)]


class Run:
    """One replay of a plan against a running lab."""

    def __init__(self, lab: Lab, views: list[View], sessions: list[str], stream):
        self.lab = lab
        self.views = views
        self.sessions = sessions
        self.stream = stream
        self.outcome = Outcome(planned=len(views))
        self.lock = threading.Lock()
        self.finished = threading.Condition(self.lock)
        self.deadline = 0.0
        self.progress = Progress(min(PROGRESS_STEPS, len(views)), "views", stream)

    def play(self, seconds: float, changes: list[tuple[int, callable]]) -> Outcome:
        """Run the views on WORKERS threads; make each change once its turn comes."""
        started = time.monotonic()
        self.deadline = started + seconds
        work: queue.SimpleQueue = queue.SimpleQueue()
        for view in self.views:
            work.put(view)
        threads = [
            threading.Thread(target=self._worker, args=(work,), daemon=True)
            for _ in range(WORKERS)
        ]
        for thread in threads:
            thread.start()

        # The changes are made here, between views, as an editor would make
        # them while people watch.
        for at, change in changes:
            with self.finished:
                self.finished.wait_for(
                    lambda at=at: self.outcome.done >= at or self._all_ended(threads),
                    timeout=max(0.0, self.deadline - time.monotonic()),
                )
                reached = self.outcome.done >= at
            if reached:
                self.outcome.changes.append(change())
        for thread in threads:
            thread.join()

        self.progress.close()
        self.outcome.seconds = time.monotonic() - started
        return self.outcome

    def _all_ended(self, threads: list[threading.Thread]) -> bool:
        return all(not thread.is_alive() for thread in threads)

    def _worker(self, work: queue.SimpleQueue) -> None:
        while time.monotonic() < self.deadline:
            try:
                view = work.get_nowait()
            except queue.Empty:
                break
            try:
                self._watch(view)
            except OSError as problem:
                self._error(f"{view.video.page}: {problem}")
            with self.finished:
                self.outcome.done += 1
                self._advance()
                self.finished.notify_all()
        with self.finished:
            self.finished.notify_all()

    def _advance(self) -> None:
        steps, done = self.progress.total, self.outcome.done
        # One step of the bar per PROGRESS_STEPS-th of the views.
        while self.progress.done < steps * done // len(self.views):
            self.progress.advance(f"{done} views")

    def _watch(self, view: View) -> None:
        video = view.video
        cookie = None
        if view.viewer is not None:
            cookie = f"{settings.SESSION_COOKIE_NAME}={self.sessions[view.viewer]}"

        self._get(video.page, cookie=cookie)
        if video.thumbnail:
            self._get(video.thumbnail)
        self._get(video.file, byte_range=f"bytes=0-{SLICE - 1}")
        end = min(view.seek + SLICE, max(video.size, 1)) - 1
        self._get(video.file, byte_range=f"bytes={view.seek}-{end}")

        comments = reverse("comments:list") + "?" + urlencode({"video": video.slug})
        etag = self._get(comments).headers.get("ETag")
        for _ in range(POLLS):
            headers = {"If-None-Match": etag} if etag else {}
            etag = self._get(comments, headers=headers).headers.get("ETag", etag)

        recommendations = reverse("recommendations:api")
        self._get(recommendations + "?" + urlencode({"video": video.slug}))
        if cookie is not None:
            self._get(reverse("accounts:api-me"), cookie=cookie)
        if view.announcements:
            self._get(reverse("announcements:index"), cookie=cookie)

    def _get(self, path: str, byte_range: str = "", cookie=None, headers=None):
        sent = dict(headers or {})
        if byte_range:
            sent["Range"] = byte_range
        if cookie:
            sent["Cookie"] = cookie
        result = fetch(self.lab.edge_url + path, headers=sent)
        timing = Timing(
            "GET", path, byte_range, result.seconds, result.first_byte_seconds
        )
        with self.lock:
            self.outcome.timings.append(timing)
        if result.status >= 400:
            self._error(f"{path}: HTTP {result.status}")
        return result

    def _error(self, message: str) -> None:
        with self.lock:
            self.outcome.errors.append(message)


# Signed-in viewers and the changes made during a run ------------------------


def sign_in(users) -> list[str]:
    """A session for each user, as the sign-in form would create."""
    keys = []
    for user in users:
        client = Client()
        client.force_login(user)
        keys.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return keys


def sign_out(keys: list[str]) -> None:
    store: type[SessionBase] = import_string(settings.SESSION_ENGINE + ".SessionStore")
    for key in keys:
        store(session_key=key).delete()


def viewers() -> list:
    return list(
        get_user_model()
        .objects.filter(is_active=True, is_staff=False)
        .order_by("pk")[:SIGNED_IN_USERS]
    )


class Changes:
    """Thumbnails replaced and comments posted mid-run, undone afterwards."""

    def __init__(self, popular: list[Item], authors: list) -> None:
        self.popular = popular
        self.authors = authors
        self.posted: list[Comment] = []
        self.originals: dict[str, bytes] = {}

    def schedule(self, views: int) -> list[tuple[int, callable]]:
        """(views done, change) pairs, spread over the run."""
        planned = []
        with_thumbnail = [item for item in self.popular if item.thumbnail]
        if with_thumbnail:
            video = with_thumbnail[0]
            planned.append((views * 3 // 10, lambda: self.replace(video, invert=True)))
            planned.append((views * 6 // 10, lambda: self.replace(video, invert=False)))
        if self.authors:
            for number in range(COMMENTS_POSTED):
                at = views * (number + 1) // (COMMENTS_POSTED + 1)
                video = self.popular[number % len(self.popular)]
                author = self.authors[number % len(self.authors)]
                planned.append((at, lambda v=video, a=author: self.post(v, a)))
        return sorted(planned, key=lambda pair: pair[0])

    def replace(self, item: Item, *, invert: bool) -> str:
        """Upload a new thumbnail through the model, as the admin does."""
        from PIL import Image, ImageOps

        video = Video.objects.get(pk=item.id)
        with video.thumbnail.open("rb") as stored:
            current = stored.read()
        self.originals.setdefault(video.thumbnail.name, current)
        picture = self.originals[video.thumbnail.name]
        if invert:
            with Image.open(io.BytesIO(picture)) as image:
                out = io.BytesIO()
                ImageOps.invert(image.convert("RGB")).save(out, format="PNG")
                picture = out.getvalue()
        video.thumbnail = ContentFile(picture, name="cachelab.png")
        video.save()
        what = "inverted" if invert else "original picture"
        return f"replaced the thumbnail of {item.slug} ({what}) at {item.thumbnail}"

    def post(self, item: Item, author) -> str:
        comment = Comment.post(item.id, author, f"Watching through the edge {MARKER}")
        self.posted.append(comment)
        return f"posted comment {comment.pk} on {item.slug} as {author}"

    def undo(self) -> list[str]:
        """Delete the comments; put the original thumbnail bytes back."""
        done = []
        for comment in self.posted:
            comment.delete()
        if self.posted:
            done.append(f"deleted the {len(self.posted)} comments posted")
        for name, original in self.originals.items():
            storage = Video._meta.get_field("thumbnail").storage
            # The storage overwrites in place (settings: allow_overwrite), so
            # the thumbnail is byte for byte what it was before the run.
            storage.save(name, ContentFile(original))
            done.append(f"put {name} back byte for byte")
        return done


def replay(
    lab: Lab, views: int, seed: int, seconds: float, stream
) -> tuple[Outcome, int]:
    """Replay a seeded workload; returns the outcome and the log line it began at."""
    videos = catalogue()
    users = viewers()
    sessions = sign_in(users)
    planned = plan(videos, views, seed, len(sessions))
    changes = Changes(most_popular(planned), users)
    first_line = len(lab.log_lines())
    try:
        run = Run(lab, planned, sessions, stream)
        outcome = run.play(seconds, changes.schedule(len(planned)))
    finally:
        undone = changes.undo()
        sign_out(sessions)
    outcome.changes += undone
    return outcome, first_line
