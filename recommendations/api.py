"""The recommendations API: lists computed ahead of time, the same for everyone.

A shared cache keeps these answers for an hour and hands them to anyone, so
the view never reads the session or the user, and sets no cookie.
"""

from __future__ import annotations

import datetime
from http import HTTPStatus

from django.http import HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response

from caching.decorators import cache_policy
from caching.policies import RECOMMENDATIONS
from config.json_api import ApiError, endpoint
from recommendations.models import RecommendationList

PARAMETERS = {"video"}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@cache_policy(RECOMMENDATIONS)
@endpoint("GET")
def recommendations(request):
    """Videos related to ``?video=<slug>``, or the popular ones without it."""
    slug = _video_parameter(request)

    # One query either way: a published video's own list, else the popular
    # one (a video published since the last refresh has none yet).
    if slug is None:
        found = RecommendationList.objects.popular()
    else:
        found = RecommendationList.objects.for_video(slug)
        if found is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"No published video {slug!r}.")
    payload = found["payload"] if found else None
    computed_at = found["computed_at"] if found else None

    # Every list changes with a refresh and only then, so the refresh's time
    # makes a strong validator. Before the first refresh there is none.
    etag = entity_tag(computed_at) if computed_at else None
    headers = {"ETag": etag} if etag else {}

    # Preconditions are evaluated before the body is made (RFC 9110 section
    # 13.2.2); a matching If-None-Match is a 304 carrying the ETag (section
    # 13.1.2, compared weakly: an edge that compresses makes the tag weak).
    conditional = get_conditional_response(
        request, etag=etag, response=HttpResponse(headers=headers)
    )
    if conditional.status_code == HTTPStatus.NOT_MODIFIED:
        return conditional
    if conditional.status_code == HTTPStatus.PRECONDITION_FAILED:
        raise ApiError(
            HTTPStatus.PRECONDITION_FAILED, "If-Match does not match the current list."
        )

    body = {
        "video": slug,
        "computed_at": computed_at.isoformat() if computed_at else None,
        "recommendations": payload or [],
    }
    return JsonResponse(body, headers=headers)


def entity_tag(computed_at: datetime.datetime) -> str:
    """A strong ETag: the refresh's time in microseconds since the epoch."""
    microseconds = (computed_at - EPOCH) // datetime.timedelta(microseconds=1)
    return f'"{microseconds}"'


def _video_parameter(request) -> str | None:
    unknown = sorted(set(request.GET) - PARAMETERS)
    if unknown:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, f"Unknown parameter(s): {', '.join(unknown)}."
        )
    slugs = request.GET.getlist("video")
    if not slugs:
        return None
    if len(slugs) > 1 or not slugs[0]:
        raise ApiError(HTTPStatus.BAD_REQUEST, "video must be one video's slug.")
    return slugs[0]
