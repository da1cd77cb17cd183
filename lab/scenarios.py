"""The cache lab's scenarios: one caching behaviour each, shown and explained.

Each scenario starts its own ``Lab`` (the site in a server thread and nginx in
front of it, on free ports), acts on the demo data, writes every answer it
got with the headers that tell the story (status, X-Cache, Age, ETag,
Cache-Control), says why by quoting the policy table, and puts back what it
changed. Where a copy must expire, the edge runs with a lab TTL of a second
instead of the table's minutes; the table itself is never changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from importlib import import_module
from typing import TextIO

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils.cache import patch_vary_headers

from caching.decorators import cache_policy
from caching.middleware import CachePolicyMiddleware
from caching.policies import (
    ANNOUNCEMENT,
    COMMENTS,
    ERROR,
    PAGE,
    PERSONAL,
    RECOMMENDATIONS,
    THUMBNAIL,
    VIDEO,
    Policy,
)
from comments.models import Comment
from edge import config
from lab.harness import Lab, Result, fetch
from videos import files
from videos.demo import DEMO_VIEWER_USERNAMES
from videos.models import Video

NAMES = ("immutable", "swr", "etag", "private", "origin-down", "cookie-leak")

# Seconds the edge keeps what changes in place (thumbnails, pages,
# recommendations) during a scenario, instead of the table's minutes.
LAB_TTL = 1
# nginx counts freshness in whole seconds from the second a copy was stored,
# so a copy is surely stale a second past the TTL.
PAST_LAB_TTL = LAB_TTL + 1.1
# What a player asks for first, within the edge's first 1 MB slice.
VIDEO_RANGE = "bytes=0-65535"
SHOWN = ("X-Cache", "Age", "ETag", "Cache-Control")
ABSENT = "(none)"
HIT = config.X_CACHE["HIT"]

NO_VIDEO = (
    "The scenarios need a published video with a thumbnail: run "
    "`python manage.py loaddemo` first."
)
NO_VIEWER = (
    "This scenario signs in as a demo viewer ({}): run "
    "`python manage.py loaddemo` first."
)
NOT_FILESYSTEM = (
    "The scenarios need media served by the site itself "
    "(HITRATE_MEDIA_STORAGE=filesystem), so that the edge stands in front of it."
)


class ScenarioError(Exception):
    pass


def run(name: str, out: TextIO) -> None:
    """Run the named scenario, writing what happened and why to ``out``."""
    scenario = _SCENARIOS[name]
    if settings.HITRATE_MEDIA_STORAGE != "filesystem":
        raise ScenarioError(NOT_FILESYSTEM)
    video = demo_video()

    story = Story(out)
    with Lab(lab_ttl=LAB_TTL) as lab:
        story.line(f"Scenario {name}: {scenario.__doc__}")
        story.line(
            f"Edge {lab.edge_url} in front of the site at {lab.origin_url}; "
            f"the edge keeps what changes in place for {LAB_TTL} s (lab TTL)."
        )
        scenario(lab, video, story)


def demo_video() -> Video:
    """The published video the scenarios act on, or ScenarioError."""
    video = Video.objects.published().exclude(thumbnail="").order_by("slug").first()
    if video is None:
        raise ScenarioError(NO_VIDEO)
    return video


def demo_viewer():
    """A demo viewer to sign in as, or ScenarioError."""
    users = get_user_model().objects.filter(is_active=True)
    for username in DEMO_VIEWER_USERNAMES:
        user = users.filter(username=username).first()
        if user is not None:
            return user
    raise ScenarioError(NO_VIEWER.format(", ".join(DEMO_VIEWER_USERNAMES)))


class Story:
    """The narrative a scenario writes: steps, answers seen, and reasons."""

    def __init__(self, out: TextIO):
        self.out = out

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def step(self, text: str) -> None:
        self.line()
        self.line(text)

    def answer(self, who: str, what: str, result: Result) -> None:
        """One request and the answer, with the headers that tell the story."""
        phrase = HTTPStatus(result.status).phrase
        shown = " | ".join(
            f"{name}: {result.headers.get(name, ABSENT)}" for name in SHOWN
        )
        self.line(f"  {who} {what}")
        self.line(
            f"    {result.status} {phrase}, {len(result.body)} bytes, "
            f"{result.seconds * 1000:.1f} ms | {shown}"
        )

    def why(self, policy: Policy, text: str = "") -> None:
        self.line(f"  Why: {text}" if text else "  Why:")
        self.line(f'    policy {policy.name} ("{policy.cache_control}"): {policy.why}')


def _edge(lab: Lab, path: str, headers: dict[str, str] | None = None) -> Result:
    return fetch(lab.edge_url + path, headers=headers)


def _origin(lab: Lab, path: str, headers: dict[str, str] | None = None) -> Result:
    return fetch(lab.origin_url + path, headers=headers)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:12]


@contextmanager
def _signed_in(user) -> Iterator[dict[str, str]]:
    """Request headers carrying a fresh session for user; the session is
    deleted afterwards.

    Written as django.contrib.auth.login writes it, without login's signal,
    which would change the user's last_login.
    """
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    try:
        yield {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"}
    finally:
        session.delete()


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Silence a logger's warnings for a moment."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _signed_in_user(result: Result) -> object:
    """The "user" member of an /api/me/ answer: who the body is about."""
    return json.loads(result.body)["user"]


# immutable ------------------------------------------------------------------


def immutable(lab: Lab, video: Video, story: Story) -> None:
    """a re-uploaded video gets a new URL; the old one stays cached."""
    range_header = {"Range": VIDEO_RANGE}
    original = video.file.open("rb").read()
    video.file.close()
    updated_at = video.updated_at
    old_url = video.file.url

    story.step(f"1. A player asks twice for the first 64 KiB of {old_url}")
    first = _edge(lab, old_url, range_header)
    story.answer("edge", f"GET {old_url} (Range: {VIDEO_RANGE})", first)
    story.answer("edge", "the same again", _edge(lab, old_url, range_header))
    story.why(
        VIDEO,
        "the first request went to the origin (Miss) and the edge kept the "
        "slice; the second never left the edge (Hit).",
    )

    extension = "." + video.file.name.rsplit(".", 1)[-1]
    try:
        story.step(
            "2. Staff upload a changed file for the same video (a few bytes "
            "of padding added at the end, saved through the model)"
        )
        video.file = ContentFile(_padded(original, extension), name=f"new{extension}")
        video.save()
        new_url = video.file.url
        story.line(f"  old URL: {old_url}")
        story.line(f"  new URL: {new_url}")
        story.line(
            "  The name is the SHA-256 of the bytes, so new bytes get a new URL "
            "and the page now links to it: nobody has to purge anything."
        )

        story.step("3. The new URL, twice")
        story.answer("edge", f"GET {new_url}", _edge(lab, new_url, range_header))
        story.answer("edge", "the same again", _edge(lab, new_url, range_header))

        story.step("4. The old URL, which no page links to any more")
        # Django logs every 404 as a warning; here it is the expected answer.
        with _quiet("django.request"):
            gone = _origin(lab, old_url, range_header)
        story.answer("origin", f"GET {old_url}", gone)
        old = _edge(lab, old_url, range_header)
        story.answer("edge", f"GET {old_url}", old)
        same = "the same bytes as" if old.body == first.body else "NOT the bytes of"
        story.line(f"  The edge's answer is {same} the first answer.")
        story.why(
            VIDEO,
            "the origin deleted the unused file, yet the edge still answers "
            "from its copy: it may keep it a year, and the bytes behind that "
            "URL can never change, so the copy is never wrong.",
        )
    finally:
        video.file = ContentFile(original, name=f"original{extension}")
        video.save()
        Video.objects.filter(pk=video.pk).update(updated_at=updated_at)
        story.step(f"Put the original file back: {video.file.url}")


def _padded(content: bytes, extension: str) -> bytes:
    """The same video with padding appended, which players skip."""
    note = b"HitRate cache lab: re-uploaded"
    if extension == ".webm":
        # An EBML Void element (ID 0xEC), a one-byte size (RFC 8794 sections
        # 4 and 11.3.1).
        return content + b"\xec" + bytes([0x80 | len(note)]) + note
    # An ISO BMFF "free" box: 32-bit size, type, payload (ISO/IEC 14496-12
    # section 8.1.2).
    return content + struct.pack(">I", 8 + len(note)) + b"free" + note


# swr ------------------------------------------------------------------------


def swr(lab: Lab, video: Video, story: Story) -> None:
    """a replaced thumbnail: the old image at once, then the new one."""
    path = video.thumbnail.url
    name = video.thumbnail.name
    stored = video.thumbnail.open("rb").read()
    video.thumbnail.close()
    updated_at = video.updated_at

    story.step(f"1. The thumbnail {path}, twice")
    first = _edge(lab, path)
    story.answer("edge", f"GET {path}", first)
    story.answer("edge", "the same again", _edge(lab, path))

    try:
        story.step(
            "2. Staff replace the thumbnail (the negative of the picture, saved "
            "through the model): same URL, new bytes"
        )
        video.thumbnail = ContentFile(_negative(stored), name="negative.png")
        video.save()
        new = video.thumbnail.open("rb").read()
        video.thumbnail.close()
        story.line(f"  old image sha256 {_digest(first.body)}, new {_digest(new)}")

        story.step(
            f"3. {PAST_LAB_TTL:g} s later, past the edge's {LAB_TTL} s lab TTL, "
            "the thumbnail again"
        )
        time.sleep(PAST_LAB_TTL)
        stale = _edge(lab, path)
        story.answer("edge", f"GET {path}", stale)
        which = "the OLD image" if stale.body == first.body else "not the old image"
        story.line(
            f"  Body: {which} (sha256 {_digest(stale.body)}), served at once "
            "while the edge asked the origin for the new one in the background."
        )

        story.step("4. Shortly after, the thumbnail again")
        fresh = _after_refresh(lab, path, first.body)
        story.answer("edge", f"GET {path}", fresh)
        which = "the NEW image" if fresh.body == new else "not the new image"
        story.line(f"  Body: {which} (sha256 {_digest(fresh.body)}).")
        story.why(
            THUMBNAIL,
            "a stale copy inside the stale-while-revalidate window is answered "
            "at once (RefreshHit) and refreshed behind the visitor's back, so "
            "nobody waits for the origin and the new image follows the next "
            "moment.",
        )
    finally:
        # Written back as stored: saving through the model would encode the
        # JPEG again and change its bytes.
        files.thumbnail_storage().save(name, ContentFile(stored))
        Video.objects.filter(pk=video.pk).update(updated_at=updated_at)
        story.step("Put the original thumbnail back.")


def _negative(image: bytes) -> bytes:
    from PIL import Image, ImageOps  # heavy: only for this scenario

    with Image.open(io.BytesIO(image)) as picture:
        negative = ImageOps.invert(picture.convert("RGB"))
    out = io.BytesIO()
    negative.save(out, format="PNG")
    return out.getvalue()


def _after_refresh(lab: Lab, path: str, old: bytes, seconds: float = 2.0) -> Result:
    """The first answer with other bytes than old, or the last one tried."""
    deadline = time.monotonic() + seconds
    while True:
        time.sleep(0.05)
        result = _edge(lab, path)
        if result.body != old or time.monotonic() > deadline:
            return result


# etag -----------------------------------------------------------------------


def etag(lab: Lab, video: Video, story: Story) -> None:
    """comments polling: 304s until someone posts."""
    user = demo_viewer()
    path = f"/api/comments/?video={video.slug}"

    story.step(f"1. A video page loads its comments: {path}")
    first = _edge(lab, path)
    story.answer("edge", f"GET {path}", first)
    tag = first.headers["ETag"]

    story.step(f"2. It polls with If-None-Match: {tag}, twice")
    for _ in range(2):
        story.answer("edge", "GET (If-None-Match)", _edge(lab, path, _matching(tag)))
    story.why(
        COMMENTS,
        "the edge keeps no copy of the comments (their route is uncached), "
        "so each poll reaches the origin, which finds the list unchanged and "
        "answers 304 with no body.",
    )

    comment = Comment.post(video.id, user, "Posted by the cache lab's etag scenario.")
    try:
        story.step(f"3. {user.get_username()} posts a comment; the next poll")
        changed = _edge(lab, path, _matching(tag))
        story.answer("edge", f"GET (If-None-Match: {tag})", changed)
        new_tag = changed.headers["ETag"]
        story.line(f"  A new list: 200 with the new comment and a new ETag, {new_tag}.")

        story.step(f"4. The poll after, with If-None-Match: {new_tag}")
        story.answer(
            "edge", "GET (If-None-Match)", _edge(lab, path, _matching(new_tag))
        )
        story.line("  Unchanged since the last answer: 304 again.")
    finally:
        comment.delete()
        story.step("Deleted the comment the scenario posted.")


def _matching(tag: str) -> dict[str, str]:
    return {"If-None-Match": tag}


# private --------------------------------------------------------------------


def private(lab: Lab, video: Video, story: Story) -> None:
    """personal data never stored at the edge."""
    user = demo_viewer()

    with _signed_in(user) as cookie:
        story.step(f"1. /api/me/ signed in as {user.get_username()}, twice")
        for what in ("GET /api/me/ (session cookie)", "the same again"):
            answer = _edge(lab, "/api/me/", cookie)
            story.answer("edge", what, answer)
        story.line(f"  Body: user {json.dumps(_signed_in_user(answer))}")
        story.why(
            PERSONAL,
            "the edge never stores it, so each request goes to the origin "
            "(never a Hit) and nobody else can be handed this body.",
        )

    story.step("2. The announcements page, twice")
    story.answer("edge", "GET /announcements/", _edge(lab, "/announcements/"))
    story.answer("edge", "the same again", _edge(lab, "/announcements/"))
    story.why(ANNOUNCEMENT, "no copy anywhere, so a withdrawn one disappears at once.")

    # The four requests above; nginx may log the last one just after it
    # answered, so wait for its line.
    asked = [
        entry
        for entry in lab.log_lines(at_least=4)
        if entry["uri"] in ("/api/me/", "/announcements/")
    ]
    stored = [entry for entry in asked if entry["cache"]]
    story.step(
        f"The edge's access log: {len(asked)} requests, all passed to the "
        f"origin; {len(stored)} looked up in its cache."
    )


# origin-down ----------------------------------------------------------------


def origin_down(lab: Lab, video: Video, story: Story) -> None:
    """stop the origin: what the edge still serves."""
    user = demo_viewer()

    with _signed_in(user) as cookie:
        requests = [
            (video.thumbnail.url, {}, THUMBNAIL),
            ("/api/recommendations/", {}, RECOMMENDATIONS),
            ("/", {}, PAGE),
            ("/api/me/", cookie, PERSONAL),
        ]
        story.step("1. Warm the edge: each resource once")
        for path, headers, _ in requests:
            story.answer("edge", f"GET {path}", _edge(lab, path, headers))

        story.step(
            f"2. Wait {PAST_LAB_TTL:g} s, past the lab TTL, so that every copy "
            "is stale; stop the origin; ask again"
        )
        time.sleep(PAST_LAB_TTL)
        lab.stop_origin()
        try:
            for path, headers, _ in requests:
                story.answer("edge", f"GET {path}", _edge(lab, path, headers))
        finally:
            lab.start_origin()

        story.line("  Why:")
        for _, _, policy in requests:
            stored = " and ".join(policy.stored_by) or "nobody"
            story.line(
                f'    policy {policy.name} ("{policy.cache_control}"): '
                f"stored by {stored}."
            )
        story.line(
            "    The edge answers a failed refresh with its stale copy, as "
            "CloudFront does when the origin is down or answers 5xx. Personal "
            "data was never stored, so there is nothing to fall back on: "
            f'502 with the error policy ("{ERROR.cache_control}").'
        )

        story.step("3. The origin started again: /api/me/")
        story.answer(
            "edge", "GET /api/me/ (session cookie)", _edge(lab, "/api/me/", cookie)
        )


# cookie-leak ----------------------------------------------------------------


def cookie_leak(lab: Lab, video: Video, story: Story) -> None:
    """what would go wrong if the public routes varied on a cookie."""
    user = demo_viewer()
    name = user.get_username()
    page = video.get_absolute_url()

    with _signed_in(user) as cookie:
        story.step(f"1. The video page {page}: {name} first, then an anonymous visitor")
        signed_in = _edge(lab, page, cookie)
        story.answer("edge", f"GET {page} (session cookie of {name})", signed_in)
        anonymous = _edge(lab, page)
        story.answer("edge", f"GET {page} (no cookie)", anonymous)
        same = "byte-identical" if signed_in.body == anonymous.body else "DIFFERENT"
        named = "names" if name.encode() in signed_in.body else "does not name"
        story.line(
            f"  The two bodies are {same} (sha256 {_digest(signed_in.body)}); "
            f"the page {named} {name}."
        )
        story.why(
            PAGE,
            "the edge removes Cookie and Authorization before asking the origin "
            "on every stored route, so a stored answer can only be the one "
            "everybody gets; personal parts are fetched by the page's "
            "JavaScript from /api/me/.",
        )

        story.step(
            f"2. The counterfactual: the answer that depends on the cookie, "
            f"/api/me/ for {name}, straight from the origin"
        )
        personal = _origin(lab, "/api/me/", cookie)
        story.answer("origin", "GET /api/me/ (session cookie)", personal)
        story.line(f"  Body: user {json.dumps(_signed_in_user(personal))}")
        story.line(
            "  nginx (like CloudFront with cookies left out of the cache key) "
            "does not key its copies on Cookie. Were this answer shared, the "
            "edge would store it under /api/me/ and hand it, with its token, "
            f"to the next visitor who asks: a stranger would be shown {name}'s "
            "account."
        )

        story.step("3. What happens instead: the same two requests through the edge")
        story.answer(
            "edge",
            f"GET /api/me/ (session cookie of {name})",
            _edge(lab, "/api/me/", cookie),
        )
        stranger = _edge(lab, "/api/me/")
        story.answer("edge", "GET /api/me/ (no cookie)", stranger)
        story.line(f"  Body: user {json.dumps(_signed_in_user(stranger))}")
        story.why(PERSONAL, "never stored at the edge, so never handed to anyone else.")

    story.step(
        "4. And the app refuses to make the mistake: CachePolicyMiddleware in "
        "strict mode, on two throwaway views (not URLs of the site)"
    )
    for view in (_varies_on_cookie, _sets_a_cookie):
        story.line(f"  {view.__name__}: {_refusal(view)}")


@cache_policy(PAGE)
def _varies_on_cookie(request):
    response = HttpResponse("Hello, whoever you are.")
    patch_vary_headers(response, ["Cookie"])
    return response


@cache_policy(PAGE)
def _sets_a_cookie(request):
    response = HttpResponse("Hello again.")
    response.set_cookie("visitor", "alice")
    return response


def _refusal(view: Callable) -> str:
    """What strict CachePolicyMiddleware says about a view's response."""
    middleware: CachePolicyMiddleware

    def get_response(request):
        middleware.process_view(request, view, (), {})
        return view(request)

    middleware = CachePolicyMiddleware(get_response)
    with override_settings(HITRATE_STRICT_POLICIES=True):
        try:
            middleware(RequestFactory().get("/"))
        except ImproperlyConfigured as error:
            return str(error)
    return "accepted (this is a bug)"


_SCENARIOS: dict[str, Callable[[Lab, Video, Story], None]] = {
    "immutable": immutable,
    "swr": swr,
    "etag": etag,
    "private": private,
    "origin-down": origin_down,
    "cookie-leak": cookie_leak,
}
