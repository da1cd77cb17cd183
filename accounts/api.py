"""The personal JSON API under /api/me/: who is signed in, favorites, history.

It is authenticated by the session cookie, so its writes keep Django's CSRF
protection: the page's JavaScript sends the csrftoken cookie's value back in
X-CSRFToken. Every answer is personal and none may be stored.
"""

from __future__ import annotations

import datetime
import math
from http import HTTPStatus

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts import personal, tokens
from caching.decorators import cache_policy
from caching.policies import PERSONAL
from config.json_api import ApiError, endpoint, read_json
from recommendations.models import Favorite, WatchHistory
from videos.models import Video

SIGN_IN_FIRST = "Sign in first."


def _signed_in(request):
    if not request.user.is_authenticated:
        raise ApiError(HTTPStatus.UNAUTHORIZED, SIGN_IN_FIRST)
    return request.user


def _published_video(slug) -> Video:
    if not isinstance(slug, str):
        raise ApiError(HTTPStatus.BAD_REQUEST, "video must be a video's slug.")
    video = Video.objects.published().filter(slug=slug).first()
    if video is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"There is no published video {slug!r}.")
    return video


def _seconds(value, video: Video) -> float:
    """A watch position in seconds, inside the video when its length is known."""
    # bool is an int to Python, and json.loads accepts NaN and Infinity.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(HTTPStatus.BAD_REQUEST, "position must be a number of seconds.")
    if video.duration is None:
        if not 0 <= value < math.inf:
            raise ApiError(
                HTTPStatus.BAD_REQUEST, "position must be 0 seconds or more."
            )
    elif not 0 <= value <= video.duration.total_seconds():
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"position must be from 0 to {video.duration.total_seconds():g} "
            "seconds, the video's length.",
        )
    return float(value)


def _favorite_json(favorite: Favorite) -> dict:
    return {
        "slug": favorite.video.slug,
        "title": favorite.video.title,
        "url": favorite.video.get_absolute_url(),
        "favorited_at": favorite.created_at,
    }


def _history_json(entry: WatchHistory) -> dict:
    return {
        "slug": entry.video.slug,
        "title": entry.video.title,
        "url": entry.video.get_absolute_url(),
        "position": entry.position.total_seconds(),
        "watched_at": entry.watched_at,
    }


@cache_policy(PERSONAL)
@endpoint("GET")
@ensure_csrf_cookie
def me(request):
    """Who is signed in, with the token for writing comments.

    Anonymous visitors get a null user, and the CSRF cookie like everyone:
    the page asks here before anything else. With ?video=<slug> it adds that
    video's favorite state and resume position.
    """
    if not request.user.is_authenticated:
        return JsonResponse({"user": None})

    user = request.user
    data = {
        "user": {"username": user.get_username(), "is_staff": user.is_staff},
        "counts": personal.counts(user),
        "token": tokens.issue(user),
        "token_expires_in": tokens.MAX_AGE,
    }

    if "video" in request.GET:
        slug = request.GET["video"]
        state = personal.video_state(user, slug)
        if state is None:
            raise ApiError(
                HTTPStatus.NOT_FOUND, f"There is no published video {slug!r}."
            )
        position = state["position"]
        data["video"] = {
            "slug": state["slug"],
            "favorite": state["favorite"],
            "position": None if position is None else position.total_seconds(),
        }
    return JsonResponse(data)


@cache_policy(PERSONAL)
@endpoint("GET", "POST")
def favorites(request):
    """The user's favorites, newest first; POST {"video": slug} adds one."""
    user = _signed_in(request)

    if request.method == "POST":
        data = read_json(request, required=["video"])
        video = _published_video(data["video"])
        # get_or_create retries the read when a racing request inserted the
        # same pair first, so the unique constraint never surfaces as a 500.
        favorite, created = Favorite.objects.get_or_create(user=user, video=video)
        return JsonResponse(
            _favorite_json(favorite),
            status=HTTPStatus.CREATED if created else HTTPStatus.OK,
            headers={"Location": f"{request.path}{video.slug}/"},
        )

    return JsonResponse(
        [_favorite_json(favorite) for favorite in personal.favorites(user)],
        safe=False,
    )


@cache_policy(PERSONAL)
@endpoint("GET", "DELETE")
def favorite(request, slug: str):
    """One favorite: read it, or DELETE it to take the video off the list."""
    user = _signed_in(request)
    video = _published_video(slug)
    found = Favorite.objects.filter(user=user, video=video)

    if request.method == "DELETE":
        deleted, _ = found.delete()
        if not deleted:
            raise ApiError(HTTPStatus.NOT_FOUND, f"{slug!r} is not a favorite.")
        return HttpResponse(status=HTTPStatus.NO_CONTENT)

    entry = found.select_related("video").first()
    if entry is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"{slug!r} is not a favorite.")
    return JsonResponse(_favorite_json(entry))


@cache_policy(PERSONAL)
@endpoint("GET", "POST")
def history(request):
    """What the user watched, last first; POST records where they are.

    Recording is an upsert: one entry per video, moved to the top, so the
    player may send the same position any number of times.
    """
    user = _signed_in(request)

    if request.method == "POST":
        data = read_json(request, required=["video", "position"])
        video = _published_video(data["video"])
        seconds = _seconds(data["position"], video)
        entry, _ = WatchHistory.objects.update_or_create(
            user=user,
            video=video,
            defaults={
                "position": datetime.timedelta(seconds=seconds),
                "watched_at": timezone.now(),
            },
        )
        return JsonResponse(_history_json(entry))

    return JsonResponse(
        [_history_json(entry) for entry in personal.history(user)], safe=False
    )
